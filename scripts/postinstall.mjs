// Runs after `npm install`: makes sure the mediasoup worker binary and ffmpeg are present, then
// builds the client so `npm start` serves it. Each step says in plain words what it does.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMediasoupWorker } from './mediasoup-worker.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function step(title, fn) {
  console.log(`[onair] ${title}`);
  fn();
}

try {
  await ensureMediasoupWorker({ root });
  step('checking ffmpeg', () => {
    const fromEnv = process.env.FFMPEG_PATH;
    if (fromEnv && existsSync(fromEnv)) return;
    let haveFfmpeg = false;
    try {
      execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
      execFileSync('ffprobe', ['-hide_banner', '-version'], { stdio: 'ignore' });
      haveFfmpeg = true;
    } catch {
      haveFfmpeg = false;
    }
    if (!haveFfmpeg) {
      execFileSync('sh', [join(root, 'scripts/ensure-debian-packages.sh'), 'ffmpeg'], { stdio: 'inherit' });
    }
  });
  step('building the client', () => {
    execFileSync('npm', ['run', 'build', '--silent', '-w', '@onair/client'], { cwd: root, stdio: 'inherit' });
  });
} catch (error) {
  console.error(`[onair] install failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
