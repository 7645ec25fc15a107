// Compiles the vertical program's SIMD tile scaler (server/wasm/scale.ts, AssemblyScript) to
// server/wasm/build/scale.wasm. Run by the install (postinstall.mjs); without it SharedTile scales
// in JavaScript, about ten times the CPU, and the server says so in its log when a vertical program starts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function buildWasm() {
  const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');
  if (!existsSync(asc)) throw new Error('assemblyscript is not installed (a dependency of @onair/server): run npm install');
  mkdirSync(join(root, 'server/wasm/build'), { recursive: true });
  execFileSync(process.execPath, [
    asc, join(root, 'server/wasm/scale.ts'),
    '--outFile', join(root, 'server/wasm/build/scale.wasm'),
    // No garbage collector or allocator: the kernel only reads and writes memory the server lays out.
    '--runtime', 'stub', '--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert', '--enable', 'simd',
  ], { cwd: root, stdio: 'inherit' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildWasm();
