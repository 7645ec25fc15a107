// Event page benchmark: how far the OnAir event page (HLS played by hls.js in Chromium) is behind
// the live program as a destination receives it (nginx RTMP on 127.0.0.1).
//
// The room's one participant sends a looped clip that is black with a 0.3 s white flash every
// FLASH_PERIOD_S (VP8 over RTP into mediasoup, like a camera). The program composes it and the
// relay sends the same encode to nginx and to the event page's HLS remux. Two observers time each
// flash's arrival on the wall clock of this machine:
// - at nginx: ffmpeg reads the destination's stream (rtmp://…/live/<key>, no input buffering) and
//   hands 32x18 grey frames to this process, which notes when the mean luma jumps;
// - on the event page: the real /watch/<slug> page in Chromium (hls.js, the page's own settings);
//   a requestVideoFrameCallback loop draws each presented frame into a 32x18 canvas and notes the
//   same jump.
// The latency of a flash is page time − nginx time. Both observers decode, so each adds its own
// small decode delay; nginx's observer is not a viewer's player, so the figure is the delay the
// event page adds on top of what the platforms receive. The flash period (20 s) is longer than any
// latency measured, so each page flash matches the last nginx flash before it without ambiguity.
// Baseline in the same run: a second page plays the same playlist with hls.js and its default
// settings (3 segments behind live), so the ratio shows what the page's settings buy.
// Also measured: Go live → the page's first decoded frame (with the page already open).
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { Peer } from '../server/src/sfu/Peer.js';
import { launchBrowser } from '../e2e/fixtures/browser.js';
import { startRtmpServer } from '../e2e/fixtures/rtmpServer.js';
import { startRtpParticipant } from '../e2e/fixtures/rtpParticipant.js';

const FLASH_PERIOD_S = 20;
const MEASURE_S = Number(process.env.BENCH_EVENTPAGE_SECONDS ?? 100);
const KEY = `bench-eventpage-${process.pid}`;
const ffmpeg = resolveFfmpegPath();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Black 320x180 with a full-frame white flash for the first 0.3 s of every period, and a tone. */
async function flashClip(dir: string): Promise<string> {
  const path = join(dir, 'flash.webm');
  await new Promise<void>((resolve, reject) =>
    execFile(ffmpeg, [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `color=c=black:s=320x180:r=30:d=${FLASH_PERIOD_S},drawbox=c=white:t=fill:enable='lt(t,0.3)'`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:d=${FLASH_PERIOD_S}`,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30', '-auto-alt-ref', '0',
      '-c:a', 'libopus', '-ac', '2', '-b:a', '64k', path,
    ], (error) => (error ? reject(error) : resolve())),
  );
  return path;
}

/** Rising edges of the mean luma (dark → bright) as wall-clock times, from 32x18 grey frames on ffmpeg's stdout. */
function watchNginx(url: string): { flashes: number[]; stop: () => void } {
  const flashes: number[] = [];
  const child = spawn(ffmpeg, [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '65536', '-analyzeduration', '0',
    '-i', url, '-an', '-vf', 'scale=32:18,format=gray', '-f', 'rawvideo', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  const FRAME = 32 * 18;
  let pending = Buffer.alloc(0);
  let bright = false;
  child.stdout.on('data', (chunk: Buffer) => {
    const now = Date.now();
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= FRAME) {
      let sum = 0;
      for (let i = 0; i < FRAME; i++) sum += pending[i]!;
      pending = pending.subarray(FRAME);
      const mean = sum / FRAME;
      if (!bright && mean > 110) flashes.push(now);
      bright = mean > (bright ? 80 : 110);
    }
  });
  return { flashes, stop: () => child.kill('SIGKILL') };
}

/** In the page: each presented frame of the <video> drawn to 32x18; a dark → bright jump of its mean luma is a flash. */
const FRAME_WATCHER = `(() => {
  const video = document.querySelector('[data-testid="watch-video"]');
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 18;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  window.__flashes = [];
  window.__firstFrameAt = null;
  let bright = false;
  const onFrame = () => {
    const now = Date.now();
    if (window.__firstFrameAt === null) window.__firstFrameAt = now;
    ctx.drawImage(video, 0, 0, 32, 18);
    const pixels = ctx.getImageData(0, 0, 32, 18).data;
    let sum = 0;
    for (let i = 0; i < pixels.length; i += 4) sum += 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
    const mean = sum / (pixels.length / 4);
    if (!bright && mean > 110) window.__flashes.push(now);
    bright = mean > (bright ? 80 : 110);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
})()`;

/** Page time − nginx time of each flash the page saw (the last nginx flash before it, within one period). */
function latencies(pageFlashes: number[], nginxFlashes: number[]): number[] {
  return pageFlashes
    .map((p) => {
      const before = nginxFlashes.filter((n) => n <= p && p - n < FLASH_PERIOD_S * 1000);
      return before.length > 0 ? (p - before[before.length - 1]!) / 1000 : null;
    })
    .filter((x): x is number => x !== null);
}

/** The flashes a page saw, and its <video>'s frame counts. */
async function readFlashes(page: import('playwright-core').Page): Promise<{ flashes: number[]; firstFrameAt: number | null; dropped: number; total: number }> {
  return (await page.evaluate(`(() => {
    const q = document.querySelector('[data-testid="watch-video"]').getVideoPlaybackQuality();
    return { flashes: window.__flashes, firstFrameAt: window.__firstFrameAt, dropped: q.droppedVideoFrames, total: q.totalVideoFrames };
  })()`)) as { flashes: number[]; firstFrameAt: number | null; dropped: number; total: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const dir = mkdtempSync(join(tmpdir(), 'onair-bench-eventpage-'));
const rtmp = await startRtmpServer();
const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'error', MEDIASOUP_WORKERS: '1', RTC_PORT: '0', ADMIN_EMAIL: 'bench@onair.local', ADMIN_PASSWORD: 'bench-password' });
const { app } = await buildApp(config, { schedulerIntervalMs: 0 });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const browser = await launchBrowser();
const load0 = loadavg()[0]!;
try {
  const owner = app.users.list()[0]!;
  const destination = app.destinations.create({ name: 'nginx', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: KEY, allowUntrustedCertificate: false });
  const record = app.rooms.create('Latency bench', owner.id);
  const room = await app.registry.open(record.id, record.name);
  room.hold();
  const sender = await startRtpParticipant({ router: room.router, peerId: 'flash', displayName: 'Flash', clip: await flashClip(dir) });
  const peer = new Peer({ id: sender.peerId, userKey: sender.peerId, displayName: 'Flash', role: 'guest', notify: () => undefined });
  peer.rtpCapabilities = room.router.rtpCapabilities;
  for (const p of sender.producers) peer.producers.set(p.producer.id, p);
  room.addPeer(peer);
  app.eventPages.configure(room.id, { enabled: true, private: false, slug: 'latency-bench', title: record.name });

  // The viewer's page is open before Go live ("starting soon"), as an audience would be.
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto('/watch/latency-bench');
  await page.locator('[data-testid="watch-state"][data-state="soon"]').waitFor({ timeout: 30_000 });

  const goLiveAt = Date.now();
  await app.broadcasts.start(room, null, { destinationIds: [destination.id], layout: 'speaker', eventPage: true });
  const nginx = watchNginx(`${rtmp.rtmpUrl('live')}/${KEY}`);
  await page.getByTestId('watch-video').waitFor({ timeout: 60_000 });
  // A string, not a function: tsx's helpers (__name) do not exist in the page.
  await page.evaluate(FRAME_WATCHER);

  // The baseline: plain hls.js with its defaults on a page of the same origin (scripts injected, so
  // this context bypasses the CSP the real page keeps to).
  const baselineContext = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const baseline = await baselineContext.newPage();
  await baseline.goto('/api/health');
  await baseline.addScriptTag({ path: createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js') });
  await baseline.evaluate(`(() => {
    document.body.innerHTML = '<video data-testid="watch-video" muted autoplay playsinline style="width:640px"></video>';
    const hls = new Hls();
    hls.loadSource('/api/watch/latency-bench/hls/index.m3u8');
    hls.attachMedia(document.querySelector('video'));
  })()`);
  await baseline.waitForFunction(`document.querySelector('video').readyState >= 2`, undefined, { timeout: 60_000 });
  await baseline.evaluate(FRAME_WATCHER);

  await sleep(MEASURE_S * 1000);
  const pageSide = await readFlashes(page);
  const baselineSide = await readFlashes(baseline);
  nginx.stop();
  const playlist = readFileSync(join(config.dataDir, 'hls', app.broadcasts.liveStatus(room.id)!.id, 'index.m3u8'), 'utf8');
  const segments = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  await app.broadcasts.stop(room, null);
  await sender.close();
  room.release();

  const ours = latencies(pageSide.flashes, nginx.flashes);
  const plain = latencies(baselineSide.flashes, nginx.flashes);
  const load1 = loadavg()[0]!;
  console.log(`flashes seen: nginx ${nginx.flashes.length}, event page ${pageSide.flashes.length}, baseline ${baselineSide.flashes.length}; event page frames shown ${pageSide.total}, dropped ${pageSide.dropped}`);
  console.log(`per flash (s): event page ${ours.map((l) => l.toFixed(2)).join(', ')}; hls.js defaults ${plain.map((l) => l.toFixed(2)).join(', ')}`);
  console.log(`segments in the playlist (s): ${segments.join(', ')}`);
  console.log('');
  console.log('| measure | value |');
  console.log('|---|---|');
  const range = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)} s` : 'n/a');
  console.log(`| event page behind nginx (median of ${ours.length}) | ${ours.length ? median(ours).toFixed(2) : 'n/a'} s |`);
  console.log(`| min – max | ${range(ours)} |`);
  console.log(`| baseline: hls.js defaults, same playlist (median of ${plain.length}) | ${plain.length ? median(plain).toFixed(2) : 'n/a'} s |`);
  console.log(`| baseline min – max | ${range(plain)} |`);
  console.log(`| event page ÷ baseline | ${ours.length && plain.length ? (median(ours) / median(plain)).toFixed(2) : 'n/a'} |`);
  console.log(`| Go live → first frame on the open event page | ${pageSide.firstFrameAt ? ((pageSide.firstFrameAt - goLiveAt) / 1000).toFixed(1) : 'n/a'} s |`);
  console.log(`| segment length (median) | ${segments.length ? median(segments).toFixed(2) : 'n/a'} s |`);
  console.log(`| load average (1 min) before / after | ${load0.toFixed(1)} / ${load1.toFixed(1)} |`);
  await context.close();
  await baselineContext.close();
} finally {
  await browser.close();
  await app.close();
  await rtmp.stop();
  rmSync(dir, { recursive: true, force: true });
}
