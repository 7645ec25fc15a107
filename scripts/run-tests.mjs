// `npm test`: type-checks, runs the client's unit tests (Vitest, client/test), then every *.test.ts
// under server/test and e2e with node's test runner (through tsx). Pass paths to run a subset:
// `npm test -- server/test/sfu`, or `npm test -- client` for the client's unit tests alone.
// Everything runs on the Node.js 24 in node_modules/.bin (check-node.mjs): npm puts it first on the
// PATH of this script, so `npm`, tsc, Vitest and the test runner (process.execPath) all use it.
import './check-node.mjs';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const args = process.argv.slice(2);
const clientUnits = args.length === 0 || args.some((a) => a === 'client' || a.startsWith('client/'));
const roots = args.length > 0 ? args.filter((a) => a !== 'client' && !a.startsWith('client/')) : ['server/test', 'e2e'];

function collect(path, out) {
  const abs = join(root, path);
  if (statSync(abs).isFile()) {
    out.push(path);
    return out;
  }
  for (const entry of readdirSync(abs)) {
    if (entry === 'node_modules') continue;
    const child = join(path, entry);
    if (statSync(join(root, child)).isDirectory()) collect(child, out);
    else if (entry.endsWith('.test.ts')) out.push(child);
  }
  return out;
}

const files = roots.flatMap((r) => collect(r, [])).map((f) => relative(root, join(root, f))).sort();

if (args.length === 0) {
  const tsc = spawnSync('npm', ['run', 'typecheck', '--silent'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('type check failed');
    process.exit(tsc.status ?? 1);
  }
}

if (clientUnits) {
  const vitest = spawnSync('npm', ['test', '--silent', '-w', '@onair/client'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
  if (vitest.status !== 0) {
    console.error('client unit tests failed');
    process.exit(vitest.status ?? 1);
  }
  if (roots.length === 0) process.exit(0);
}

// No --test-force-exit: under Node 24 it ends a file's process before the file's later tests have
// run (server/test/destinations/url.test.ts reported 25–31 of its 63 tests, all "passing"), which
// hides tests. A file that hangs on a handle left open is caught by this overall limit instead.
const LIMIT_MS = 40 * 60_000;
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' }, timeout: LIMIT_MS, killSignal: 'SIGKILL' },
);
if (run.error) console.error(`the tests did not finish within ${LIMIT_MS / 60_000} minutes (a test file left something running?)`);
process.exit(run.status ?? 1);
