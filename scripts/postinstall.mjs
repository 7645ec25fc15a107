// Runs after `npm install`, on the Node.js 24 that the install put in node_modules (see
// check-node.mjs): makes sure the mediasoup worker binary and ffmpeg are present, then builds the
// vertical program's wasm tile scaler and the client so `npm start` serves it. Each step says in plain words what it does.
import './check-node.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWasm } from './build-wasm.mjs';
import { ensureMediasoupWorker } from './mediasoup-worker.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function step(title, fn) {
  console.log(`[onair] ${title}`);
  fn();
}

// npm checks each package's `engines` against the Node that runs npm, not the one that runs OnAir
// (npm 11 has no setting to change that, `node-version` is gone): when the system's Node 20 runs
// npm, it warns (EBADENGINE) about the packages that declare Node >= 22 (mediasoup, better-sqlite3
// and a few of their dependencies). Say why that is harmless.
const npmNode = /\bnode\/v(\d+)\.(\S+)/.exec(process.env.npm_config_user_agent ?? '');
if (npmNode && Number(npmNode[1]) < 22) {
  console.log(`[onair] npm runs on Node.js ${npmNode[1]}.${npmNode[2]}: its EBADENGINE warnings compare packages with that Node; OnAir, its install steps and its tests run on Node.js ${process.versions.node} (node_modules/.bin/node), which they support`);
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
  step('building the vertical program\'s SIMD tile scaler (AssemblyScript → server/wasm/build/scale.wasm)', buildWasm);
  step('building the client', () => {
    execFileSync('npm', ['run', 'build', '--silent', '-w', '@onair/client'], { cwd: root, stdio: 'inherit' });
  });
} catch (error) {
  console.error(`[onair] install failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
