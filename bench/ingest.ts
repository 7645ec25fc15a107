// Ingest benchmark: glass-to-glass latency of an outside source into a browser participant, and
// the cores one source costs (its ffmpeg: H.264 passed through vs transcoded to VP8).
//
// Latency: this process plays the camera. It writes raw frames (640x360, 30 fps, dark grey) into
// an encoder ffmpeg (x264 ultrafast/zerolatency, as OBS would) that publishes RTMP to the OnAir
// server running in this process (buildApp, as `npm start` does); every 2 s three frames are
// white and the time the first was written is noted. A real Chromium page in the meeting watches the source's
// tile with requestVideoFrameCallback and notes when a bright frame is shown. Both clocks are
// this machine's (performance.timeOrigin + now), so the difference is glass to glass: encode,
// RTMP, OnAir's ffmpeg, mediasoup, WebRTC, decode, paint.
//
// Cores: a moving 1280x720 30 fps test picture (libx264; Baseline → passthrough, High →
// transcode) and a tone are published for BENCH_MEASURE_MS; the CPU of OnAir's ffmpeg for that
// source is read from /proc. Ratios are against passthrough in the same process.
//
// RTSP rows (an IP camera pulled into the room) come from bench/cameras/rtsp.ts, in the same process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../e2e/fixtures/browser.js';
import { x264Args } from '../e2e/fixtures/encoder.js';
import { freeTcpPort } from '../e2e/fixtures/ports.js';
import { buildApp, type App } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { rtspRows } from './cameras/rtsp.js';
import { joinFlashViewer, matchFlashes, type FlashViewer } from './lib/flashViewer.js';
import { cores, latencyStats, sampleTree } from './proc.js';

const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 10_000);
const FLASHES = Number(process.env.BENCH_FLASHES ?? 8);
const ffmpegPath = resolveFfmpegPath();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wallNow = () => performance.timeOrigin + performance.now();

export interface BenchServer {
  app: App;
  url: string;
  rtmpPort: number;
  browser: Browser;
  close(): Promise<void>;
}

/** OnAir in this process with RTMP ingest on a free port, and Chromium. */
export async function startBench(): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'onair-bench-ingest-'));
  const rtmpPort = await freeTcpPort();
  const config = loadConfig({
    ...process.env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'error', MEDIASOUP_WORKERS: '1',
    ADMIN_EMAIL: 'bench@onair.local', ADMIN_PASSWORD: 'bench-password', INGEST_RTMP_PORT: String(rtmpPort), INGEST_GRACE_MS: '1000',
  });
  const { app } = await buildApp(config, { schedulerIntervalMs: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await launchBrowser();
  return {
    app, url, rtmpPort, browser,
    async close() {
      await browser.close();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A room with one RTMP ingest source; its publish URL (with the key) and the source's id. */
export function ingestRoom(bench: BenchServer, name: string): { roomId: string; sourceId: string; publishUrl: string } {
  const owner = bench.app.users.list()[0]!;
  const room = bench.app.rooms.create(`bench ${name}`, owner.id);
  const source = bench.app.ingestSources.create({ roomId: room.id, name, createdBy: owner.id });
  return { roomId: room.id, sourceId: source.id, publishUrl: `rtmp://127.0.0.1:${bench.rtmpPort}/live/${bench.app.ingestSources.streamKey(source.id)}` };
}

/**
 * The camera: raw frames written by this process into an encoder that publishes to `publishUrl`,
 * dark grey with a white flash (3 frames) every 2 s. Resolves with the wall-clock times the white frames were written.
 */
async function flashingCamera(publishUrl: string, profile: 'baseline' | 'high', flashes: number, onStarted: () => Promise<void>): Promise<{ sentAt: number[]; encoder: ChildProcess }> {
  const [w, h] = [640, 360];
  const frameSize = (w * h * 3) / 2;
  const frame = (luma: number) => {
    const b = Buffer.alloc(frameSize, 128);
    b.fill(luma, 0, w * h);
    return b;
  };
  const dark = frame(40);
  const white = frame(235);
  const encoder = spawn(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${w}x${h}`, '-framerate', '30', '-i', 'pipe:0',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    ...x264Args(profile),
    '-c:a', 'aac', '-f', 'flv', '-flvflags', 'no_duration_filesize', publishUrl,
  ], { stdio: ['pipe', 'ignore', 'ignore'] });
  encoder.stdin?.on('error', () => undefined);
  const sentAt: number[] = [];
  const start = performance.now();
  let n = 0;
  let started = false;
  let flashAt = Number.POSITIVE_INFINITY;
  while (sentAt.length < flashes) {
    // One frame every 1/30 s on the wall clock (catch up, never run ahead).
    const due = start + (n * 1000) / 30;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (!started && n === 30) {
      started = true;
      void onStarted().then(() => (flashAt = n + 60));
    }
    // A flash lasts 3 frames (100 ms), like a real one: a single frame can be lost to a transcoder's rate control.
    const isFlash = n >= flashAt && n < flashAt + 3;
    if (n === flashAt) sentAt.push(wallNow());
    if (n === flashAt + 2) flashAt = n + 58;
    encoder.stdin?.write(isFlash ? white : dark);
    n++;
  }
  return { sentAt, encoder };
}

/** Glass-to-glass latency per flash (ms): white frame written → shown in the browser tile. */
export async function flashLatency(bench: BenchServer, profile: 'baseline' | 'high'): Promise<number[]> {
  const name = `Flash ${profile}`;
  const { roomId, publishUrl } = ingestRoom(bench, name);
  let viewer: FlashViewer | null = null;
  const { sentAt, encoder } = await flashingCamera(publishUrl, profile, FLASHES, async () => {
    viewer = await joinFlashViewer(bench, roomId, [name]);
    await sleep(2000); // the first keyframe and the jitter buffer settle
  });
  await sleep(2000);
  const seen = viewer ? await (viewer as FlashViewer).seen(name) : [];
  encoder.kill('SIGKILL');
  await (viewer as FlashViewer | null)?.close();
  return matchFlashes(sentAt, seen);
}

/** Cores of OnAir's ffmpeg for one source publishing a moving 720p30 picture (Baseline → passthrough, High → transcode). */
export async function ffmpegCores(bench: BenchServer, profile: 'baseline' | 'high'): Promise<{ cores: number; encoderCores: number; handling: string }> {
  const { sourceId, publishUrl } = ingestRoom(bench, `Cores ${profile}`);
  const encoder = spawn(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    ...x264Args(profile, 60), '-b:v', '3000k', '-c:a', 'aac', '-f', 'flv', publishUrl,
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    const deadline = Date.now() + 30_000;
    while (bench.app.ingest.state(sourceId) !== 'live' && Date.now() < deadline) await sleep(100);
    const pid = bench.app.ingest.ffmpegPid(sourceId);
    if (pid === undefined) throw new Error('the ingest ffmpeg did not start');
    await sleep(2000);
    const a = sampleTree(pid);
    const ea = sampleTree(encoder.pid!);
    await sleep(MEASURE_MS);
    const b = sampleTree(pid);
    const eb = sampleTree(encoder.pid!);
    const live = bench.app.registry.list().flatMap((r) => [...r.peers.values()]).find((p) => p.id === `outside-${sourceId}`);
    const codec = [...(live?.producers.values() ?? [])].find((p) => p.source === 'camera')?.producer.rtpParameters.codecs[0]?.mimeType ?? '?';
    return { cores: cores(a, b), encoderCores: cores(ea, eb), handling: codec === 'video/H264' ? 'passthrough (H.264)' : `transcode (${codec.replace('video/', '')})` };
  } finally {
    encoder.kill('SIGKILL');
    await bench.app.ingest.disconnect(sourceId);
  }
}

const stats = latencyStats;

const bench = await startBench();
try {
  const latency: Array<{ label: string; s: ReturnType<typeof stats> }> = [];
  for (const profile of ['baseline', 'high'] as const) {
    const s = stats(await flashLatency(bench, profile));
    latency.push({ label: profile === 'baseline' ? 'RTMP, H.264 Baseline → passthrough' : 'RTMP, H.264 High → VP8 transcode', s });
    console.log(`measured latency ${profile}: median ${s.median.toFixed(0)} ms (${s.n}/${s.of} flashes seen)`);
  }
  const cost: Array<{ label: string; cores: number; encoderCores: number }> = [];
  for (const profile of ['baseline', 'high'] as const) {
    const c = await ffmpegCores(bench, profile);
    cost.push({ label: `720p30 ${c.handling}`, cores: c.cores, encoderCores: c.encoderCores });
    console.log(`measured cores ${profile}: ${c.cores.toFixed(3)} (${c.handling})`);
  }
  console.log('\nglass to glass (flash written → shown in Chromium) | median | p90 | max | flashes seen');
  for (const { label, s } of latency) {
    console.log(`${label.padEnd(52)} | ${s.median.toFixed(0).padStart(4)} ms | ${s.p90.toFixed(0).padStart(4)} ms | ${s.max.toFixed(0).padStart(4)} ms | ${s.n}/${s.of}`);
  }
  const base = cost[0]!.cores;
  console.log('\none ingest source (OnAir\'s ffmpeg) | cores | ×passthrough | (the stand-in encoder itself)');
  for (const c of cost) console.log(`${c.label.padEnd(40)} | ${c.cores.toFixed(3)} | ${(c.cores / base).toFixed(1)} | ${c.encoderCores.toFixed(2)} cores`);
  // IP cameras pulled over RTSP (bench/cameras/rtsp.ts): the same measures for a camera.
  await rtspRows(bench);
} finally {
  await bench.close();
}
