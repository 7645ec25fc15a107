import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';

/** A PNG made by a real ffmpeg in `dir`: one `color` (e.g. red@0.5) at `size` (e.g. 200x100). */
export function makePng(dir: string, color: string, size: string): Buffer {
  const path = join(dir, `${color.replace(/\W/g, '_')}-${size}.png`);
  execFileSync(resolveFfmpegPath(), ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=${color}:s=${size},format=rgba`, '-frames:v', '1', '-y', path]);
  return readFileSync(path);
}
