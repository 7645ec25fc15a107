// RTSP rows of the ingest benchmark (`npm run bench -- ingest` runs them): an IP camera pulled into a
// room, glass to glass into a browser participant, and the cores of the camera's ffmpeg.
//
// Latency: the camera is the real test camera (gst-rtsp-server, e2e/fixtures/rtspServer.ts, x264
// ultrafast/zerolatency constrained baseline, 640x360 30 fps). flash() turns its picture white and
// reports the wall-clock time its first white frame left videotestsrc (a pad probe, before the
// encoder); a Chromium page in the meeting notes when it shows a bright frame on the camera's tile
// (requestVideoFrameCallback, performance.timeOrigin + now). Both are this machine's clock, so the
// difference is glass to glass: encode, RTSP/RTP over TCP, OnAir's ffmpeg, mediasoup, WebRTC,
// decode, paint. The same camera (one shared gst pipeline, so the same frames) is also pulled by
// a second participant whose ffmpeg opens the URL in its arguments (`-rtsp_transport tcp -i
// rtsp://…`, bench only: no credentials), to show what the ffconcat-on-stdin input costs: the
// two tiles see the same flashes.
//
// Cores: a 1280x720 30 fps camera, constrained baseline (passed through) vs High (transcoded to
// VP8), the CPU of OnAir's ffmpeg for it read from /proc over BENCH_MEASURE_MS. Ratios are
// against passthrough in the same process.
import { startRtspCamera, type RtspCamera } from '../../e2e/fixtures/rtspServer.js';
import type { App } from '../../server/src/app.js';
import type { Logger } from '../../server/src/logger.js';
import { OutsideParticipant } from '../../server/src/ingest/OutsideParticipant.js';
import { resolveFfmpegPath } from '../../server/src/media/ffmpegPath.js';
import { joinFlashViewer, matchFlashes, type FlashViewer } from '../lib/flashViewer.js';
import { cores, latencyStats, sampleTree } from '../proc.js';

const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 10_000);
const FLASHES = Number(process.env.BENCH_FLASHES ?? 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RtspBenchServer {
  app: App;
  url: string;
  browser: import('playwright-core').Browser;
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function roomWithCamera(app: App, name: string, camera: RtspCamera, transport: 'tcp' | 'udp' = 'tcp'): { roomId: string; cameraId: string } {
  const owner = app.users.list()[0]!;
  const room = app.rooms.create(`bench ${name}`, owner.id);
  const created = app.cameras.create(room.id, { name, url: camera.urlWithCredentials, transport });
  return { roomId: room.id, cameraId: created.id };
}

/**
 * Glass-to-glass latency per flash (ms) of the product's pull (ffconcat on stdin, `name`) and,
 * from the same camera in the same room, of a bench-only pull with the URL in ffmpeg's arguments.
 */
export async function rtspFlashLatency(bench: RtspBenchServer, transport: 'tcp' | 'udp'): Promise<{ product: number[]; direct: number[] }> {
  const camera = await startRtspCamera({ auth: 'none' });
  const name = `Camera ${transport}`;
  const directName = `Direct ${transport}`;
  const { roomId, cameraId } = roomWithCamera(bench.app, name, camera, transport);
  let viewer: FlashViewer | null = null;
  let direct: OutsideParticipant | null = null;
  try {
    // The room opens when the viewer joins; the camera's pull starts then. The direct pull joins the same room.
    const joining = joinFlashViewer(bench, roomId, [name, directName]);
    await until('the room open', () => bench.app.registry.get(roomId) !== undefined);
    const room = bench.app.registry.get(roomId)!;
    direct = OutsideParticipant.join({ room, sourceId: `direct-${transport}`, displayName: directName, kind: 'rtsp', onAir: { camera: true, screen: true }, ffmpegPath: resolveFfmpegPath(), logger: bench.app.log as Logger });
    await direct.feed({ args: ['-rtsp_transport', transport, '-i', camera.url], video: 'passthrough', audio: true });
    viewer = await joining;
    await until('the camera live', () => bench.app.cameras.get(roomId, cameraId).status.state === 'live');
    await sleep(3000); // the first keyframes and the jitter buffers settle
    const sentAt: number[] = [];
    for (let i = 0; i < FLASHES; i++) {
      sentAt.push(await camera.flash());
      await sleep(2000);
    }
    return { product: matchFlashes(sentAt, await viewer.seen(name)), direct: matchFlashes(sentAt, await viewer.seen(directName)) };
  } finally {
    await direct?.close();
    await viewer?.close();
    await bench.app.cameras.delete(roomId, cameraId);
    await camera.stop();
  }
}

/** Cores of OnAir's ffmpeg for one 720p30 camera (constrained baseline → passthrough, High → transcode), and of the test camera itself. */
export async function rtspFfmpegCores(bench: RtspBenchServer, profile: 'constrained-baseline' | 'high'): Promise<{ cores: number; cameraCores: number; handling: string }> {
  const camera = await startRtspCamera({ auth: 'basic', user: 'bench', password: 'bench-camera-password', width: 1280, height: 720, profile });
  const { roomId, cameraId } = roomWithCamera(bench.app, `Cores ${profile}`, camera);
  // The room must be open: a person in it (no browser needed to pull; a signalling peer would do, the page is simplest).
  const viewer = await joinFlashViewer(bench, roomId, [`Cores ${profile}`]);
  try {
    await until('the camera live', () => bench.app.cameras.get(roomId, cameraId).status.state === 'live');
    const pid = bench.app.cameras.puller(cameraId)?.ffmpegPid;
    if (pid === undefined) throw new Error('the camera ffmpeg did not start');
    await sleep(2000);
    const a = sampleTree(pid);
    const ca = sampleTree(camera.pid);
    await sleep(MEASURE_MS);
    const b = sampleTree(pid);
    const cb = sampleTree(camera.pid);
    const video = bench.app.cameras.get(roomId, cameraId).status.video;
    return { cores: cores(a, b), cameraCores: cores(ca, cb), handling: video === 'passthrough' ? 'passthrough (H.264)' : 'transcode (VP8)' };
  } finally {
    await viewer.close();
    await bench.app.cameras.delete(roomId, cameraId);
    await camera.stop();
  }
}

/** Runs the RTSP rows and prints their tables. */
export async function rtspRows(bench: RtspBenchServer): Promise<void> {
  const stats = latencyStats;
  const latency: Array<{ label: string; s: ReturnType<typeof stats> }> = [];
  for (const transport of ['tcp', 'udp'] as const) {
    const { product, direct } = await rtspFlashLatency(bench, transport);
    latency.push({ label: `RTSP/${transport.toUpperCase()}, passthrough (ffconcat on stdin)`, s: stats(product) });
    latency.push({ label: `RTSP/${transport.toUpperCase()}, passthrough (URL in argv, bench only)`, s: stats(direct) });
    console.log(`measured RTSP latency ${transport}: median ${stats(product).median.toFixed(0)} ms, direct ${stats(direct).median.toFixed(0)} ms`);
  }
  const cost: Array<{ label: string; cores: number; cameraCores: number }> = [];
  for (const profile of ['constrained-baseline', 'high'] as const) {
    const c = await rtspFfmpegCores(bench, profile);
    cost.push({ label: `720p30 ${profile === 'high' ? 'High' : 'C. Baseline'} ${c.handling}`, cores: c.cores, cameraCores: c.cameraCores });
    console.log(`measured RTSP cores ${profile}: ${c.cores.toFixed(3)} (${c.handling})`);
  }
  console.log('\nRTSP camera, glass to glass (flash at the camera → shown in Chromium) | median | p90 | max | flashes seen');
  for (const { label, s } of latency) {
    console.log(`${label.padEnd(58)} | ${s.median.toFixed(0).padStart(4)} ms | ${s.p90.toFixed(0).padStart(4)} ms | ${s.max.toFixed(0).padStart(4)} ms | ${s.n}/${s.of}`);
  }
  const base = cost[0]!.cores;
  console.log("\none RTSP camera (OnAir's ffmpeg) | cores | ×passthrough | (the test camera itself)");
  for (const c of cost) console.log(`${c.label.padEnd(44)} | ${c.cores.toFixed(3)} | ${(c.cores / base).toFixed(1)} | ${c.cameraCores.toFixed(2)} cores`);
}
