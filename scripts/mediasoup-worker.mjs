// Owns how OnAir gets its mediasoup-worker binary (mediasoup's own postinstall is disabled in
// package.json's allowScripts because it cannot work offline):
//   1. a binary already in place (node_modules/mediasoup/worker/out/Release) that runs → done;
//   2. the cache outside the repo, keyed by mediasoup version
//      ($ONAIR_CACHE_DIR, default ${XDG_CACHE_HOME:-~/.cache}/onair/mediasoup-worker-<version>);
//   3. the official prebuilt from mediasoup's GitHub releases (online users);
//   4. an offline build against Debian's libraries (scripts/mediasoup-offline), then cached.
// MEDIASOUP_WORKER_BIN, when set, is used as is and nothing is fetched or built.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, release } from 'node:os';
import { dirname, join } from 'node:path';

/** Exit status mediasoup-worker returns when started without its IPC env: proves it runs here. */
const WORKER_SELF_CHECK_STATUS = 41;

export function workerCacheDir(version) {
  const base = process.env.ONAIR_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'onair');
  return join(base, `mediasoup-worker-${version}`);
}

function workerRuns(bin) {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  return r.status === WORKER_SELF_CHECK_STATUS;
}

async function downloadPrebuilt(version, dest) {
  const kernel = Number(release().split('.')[0]);
  const name = `mediasoup-worker-${version}-${process.platform}-${process.arch}${process.platform === 'linux' ? `-kernel${kernel}` : ''}.tgz`;
  const base = process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ?? 'https://github.com/versatica/mediasoup/releases/download';
  try {
    const res = await fetch(`${base}/${version}/${name}`, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) return `HTTP ${res.status}`;
    const tgz = `${dest}.tgz`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
    execFileSync('tar', ['xzf', tgz, '-C', dirname(dest)]);
    rmSync(tgz, { force: true });
    return workerRuns(dest) ? null : 'the prebuilt worker does not run on this system';
  } catch (error) {
    return error instanceof Error ? (error.cause?.message ?? error.message) : String(error);
  }
}

export async function ensureMediasoupWorker({ root }) {
  if (process.env.MEDIASOUP_WORKER_BIN) {
    console.log(`[onair] using MEDIASOUP_WORKER_BIN=${process.env.MEDIASOUP_WORKER_BIN}`);
    return;
  }
  const pkgDir = join(root, 'node_modules/mediasoup');
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const target = join(pkgDir, 'worker/out/Release/mediasoup-worker');
  if (workerRuns(target)) {
    console.log(`[onair] mediasoup-worker ${version} is in place`);
    return;
  }
  const cacheDir = workerCacheDir(version);
  const cached = join(cacheDir, 'mediasoup-worker');
  mkdirSync(cacheDir, { recursive: true });
  if (!workerRuns(cached)) {
    console.log(`[onair] fetching the official mediasoup-worker ${version} prebuilt`);
    const why = await downloadPrebuilt(version, cached);
    if (why) {
      console.log(`[onair] no prebuilt worker (${why}); building mediasoup-worker ${version} from source against system libraries (about 10 minutes on 2 cores, cached in ${cacheDir})`);
      execFileSync('sh', [join(root, 'scripts/mediasoup-offline/build-worker.sh'), version, cached], { stdio: 'inherit' });
      if (!workerRuns(cached)) throw new Error(`the mediasoup-worker built in ${cacheDir} does not run`);
    }
  } else {
    console.log(`[onair] using the cached mediasoup-worker ${version} from ${cacheDir}`);
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(cached, target);
  execFileSync('chmod', ['755', target]);
}
