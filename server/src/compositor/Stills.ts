import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { Overlay, Picture } from './picture.js';

/** Font for names and titles; without it, name tiles and bands are drawn without text. */
export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export interface Still<T> {
  /** Unique per rendered still: the compositor redraws a tile when its content's key changes. */
  key: number;
  image: T;
}

export interface StillsOptions {
  ffmpegPath: string;
  logger: Logger;
  fontFile?: string;
}

/** Rendered stills kept; the oldest are forgotten first. */
const MAX_CACHED = 96;
const SAFE_PATH = /^[\w/.+-]+$/;

let nextKey = 1;
/** Keys for content drawn by the compositor (pictures from decoders, rendered stills); never 0. */
export function newContentKey(): number {
  nextKey += 1;
  return nextKey;
}

/**
 * Text rendered once into raw pictures by ffmpeg's drawtext (name tiles, the title and lower-third
 * bands, the slate, labels with their translucent box), cached, so the per-frame work is a copy.
 * A still that is not rendered yet returns null (the compositor draws its background meanwhile);
 * renders run one at a time so they never compete with the encoder for more than one core.
 */
export class Stills {
  readonly #ffmpegPath: string;
  readonly #logger: Logger;
  readonly #fontFile: string | null;
  readonly #dir: string;
  readonly #cache = new Map<string, Still<unknown> | null>();
  #queue: Promise<void> = Promise.resolve();
  #seq = 0;
  #closed = false;

  constructor(options: StillsOptions) {
    this.#ffmpegPath = options.ffmpegPath;
    this.#logger = options.logger;
    const font = options.fontFile ?? DEFAULT_FONT_FILE;
    this.#fontFile = existsSync(font) && SAFE_PATH.test(font) ? font : null;
    this.#dir = mkdtempSync(join(tmpdir(), 'onair-stills-'));
  }

  /** An opaque picture: `text` centred (or at the left) on a background colour. */
  text(
    text: string,
    width: number,
    height: number,
    style: { background: string; fontSize: number; align: 'center' | 'left' },
  ): Still<Picture> | null {
    const key = `t|${width}x${height}|${style.background}|${style.fontSize}|${style.align}|${text}`;
    const x = style.align === 'center' ? '(w-tw)/2' : String(Math.round(style.fontSize * 0.8));
    return this.#get(key, async () => {
      const draw = this.#drawtext(text, `fontsize=${style.fontSize}:fontcolor=white:x=${x}:y=(h-th)/2`);
      const data = await this.#render(`color=c=${style.background}:s=${width}x${height}:r=1${draw}`, width, height);
      return { width, height, data };
    }) as Still<Picture> | null;
  }

  /** A name label: white text on a black box at 55 % opacity, cropped to the box. */
  label(text: string, fontSize: number, maxWidth: number): Still<Overlay> | null {
    const key = `l|${fontSize}|${maxWidth}|${text}`;
    return this.#get(key, async () => {
      const border = Math.round(fontSize / 3);
      const width = Math.max(2, Math.floor(maxWidth / 2) * 2);
      const height = Math.floor((fontSize * 1.6 + 2 * border) / 2) * 2 + 2;
      // Rendered opaque: black outside, a mid-grey box, white text; the opacity is derived from the grey levels.
      const draw = this.#drawtext(text, `fontsize=${fontSize}:fontcolor=white:x=${border}:y=${border}:box=1:boxcolor=0x808080:boxborderw=${border}`);
      const data = await this.#render(`color=c=black:s=${width}x${height}:r=1${draw}`, width, height);
      return labelOverlay(data, width, height);
    }) as Still<Overlay> | null;
  }

  close(): void {
    this.#closed = true;
    this.#cache.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #drawtext(text: string, style: string): string {
    if (this.#fontFile === null) return '';
    this.#seq += 1;
    const path = join(this.#dir, `text-${this.#seq}.txt`);
    writeFileSync(path, text);
    return `,drawtext=fontfile=${this.#fontFile}:textfile=${path}:expansion=none:${style}`;
  }

  #get<T extends Picture | Overlay>(key: string, render: () => Promise<T>): Still<T> | null {
    if (this.#cache.has(key)) {
      const hit = this.#cache.get(key) as Still<T> | null;
      // Most recently used last.
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    this.#cache.set(key, null);
    while (this.#cache.size > MAX_CACHED) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
    this.#queue = this.#queue.then(async () => {
      if (this.#closed || !this.#cache.has(key)) return;
      try {
        const image = await render();
        if (!this.#closed && this.#cache.has(key)) this.#cache.set(key, { key: newContentKey(), image });
      } catch (error) {
        // A render in flight when the program closed finds its text file gone: nothing to report.
        if (!this.#closed) this.#logger.warn({ err: error }, 'rendering a still failed');
      }
    });
    return null;
  }

  #render(source: string, width: number, height: number): Promise<Buffer> {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', source, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'];
    const bytes = (width * height * 3) / 2;
    return new Promise((resolve, reject) => {
      execFile(this.#ffmpegPath, args, { encoding: 'buffer', maxBuffer: bytes + 1024, timeout: 10_000 }, (error, stdout) => {
        if (error) reject(error);
        else if (stdout.length !== bytes) reject(new Error(`still has ${stdout.length} bytes, expected ${bytes}`));
        else resolve(stdout);
      });
    });
  }
}

/** Black → transparent; the grey box → black at 55 %; text (brighter) → white, opaque at full coverage. Cropped to the box. */
function labelOverlay(data: Buffer, width: number, height: number): Overlay {
  const BOX = 126;
  const WHITE = 235;
  const BOX_ALPHA = 140;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if ((data[y * width + x] ?? 0) > 40) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { width: 2, height: 2, y: new Uint8Array(4), u: new Uint8Array(1), v: new Uint8Array(1), a: new Uint8Array(4) };
  x0 = Math.floor(x0 / 2) * 2;
  y0 = Math.floor(y0 / 2) * 2;
  const w = Math.min(width - x0, Math.ceil((x1 - x0 + 1) / 2) * 2);
  const h = Math.min(height - y0, Math.ceil((y1 - y0 + 1) / 2) * 2);
  const out: Overlay = { width: w, height: h, y: new Uint8Array(w * h), u: new Uint8Array((w * h) / 4).fill(128), v: new Uint8Array((w * h) / 4).fill(128), a: new Uint8Array(w * h) };
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      const value = data[(y0 + y) * width + x0 + x] ?? 16;
      const i = y * w + x;
      if (value <= 40) continue;
      const coverage = Math.max(0, Math.min(1, (value - BOX) / (WHITE - BOX)));
      out.a[i] = Math.round(BOX_ALPHA + coverage * (255 - BOX_ALPHA));
      // Colour such that blending at that opacity gives box black under the text's coverage.
      const alpha = (out.a[i] ?? 255) / 255;
      out.y[i] = Math.round((16 * (BOX_ALPHA / 255) * (1 - coverage) + WHITE * coverage) / alpha);
    }
  }
  return out;
}
