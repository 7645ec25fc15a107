import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

function findOnPath(name: string, pathEnv: string | undefined): string | null {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** ffmpeg-static's binary path when the optional module is installed and its download succeeded. */
function ffmpegStaticPath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const resolved: unknown = require('ffmpeg-static');
    return typeof resolved === 'string' && existsSync(resolved) ? resolved : null;
  } catch {
    return null;
  }
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides the ffmpeg-static lookup (tests). */
  staticPath?: () => string | null;
}

/**
 * Resolves ffmpeg: an explicit path (from config) → FFMPEG_PATH → ffmpeg-static's binary →
 * `ffmpeg` on PATH. Throws in plain words when none is found.
 */
export function resolveFfmpegPath(explicitPath: string | null = null, options: ResolveOptions = {}): string {
  const env = options.env ?? process.env;
  const explicit = explicitPath ?? env.FFMPEG_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`FFMPEG_PATH points to ${explicit}, but there is no file there.`);
    return explicit;
  }
  const bundled = (options.staticPath ?? ffmpegStaticPath)();
  if (bundled) return bundled;
  const onPath = findOnPath('ffmpeg', env.PATH);
  if (onPath) return onPath;
  throw new Error(
    'ffmpeg was not found. Install it (for example `apt-get install ffmpeg`) or set FFMPEG_PATH to the ffmpeg binary.',
  );
}

/** Resolves ffprobe: an explicit path → FFPROBE_PATH → `ffprobe` on PATH (ffmpeg-static ships no ffprobe). */
export function resolveFfprobePath(explicitPath: string | null = null, options: ResolveOptions = {}): string {
  const env = options.env ?? process.env;
  const explicit = explicitPath ?? env.FFPROBE_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`FFPROBE_PATH points to ${explicit}, but there is no file there.`);
    return explicit;
  }
  const onPath = findOnPath('ffprobe', env.PATH);
  if (onPath) return onPath;
  throw new Error(
    'ffprobe was not found. Install it (for example `apt-get install ffmpeg`) or set FFPROBE_PATH to the ffprobe binary.',
  );
}
