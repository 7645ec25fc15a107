/**
 * Rows of `npm run bench -- compositor` (BENCH_ONLY=outputs for these alone) for the program's extra
 * outputs: the cores the hosts' preview and the vertical (9:16) program add to the 16:9 program alone,
 * measured on the same Program, inputs and router in one run, one phase after the other:
 * 16:9 alone → + preview → + vertical (720x1280) → 16:9 alone again (the baseline, taken twice to
 * show the noise). The vertical encoder is also compared with the 16:9 one process by process.
 * Imported by bench/compositor.ts; it runs nothing by itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../server/src/logger.js';
import { Preview } from '../server/src/compositor/Preview.js';
import { allocPicture, fillRect } from '../server/src/compositor/picture.js';
import { releasePortPair, reservePortPair } from '../server/src/media/ports.js';
import { Program } from '../server/src/compositor/Program.js';
import { encoderArgs } from '../server/src/compositor/profile.js';
import type { SceneInput } from '../server/src/compositor/scene.js';
import { sampleTree } from './proc.js';

export interface OutputsBenchContext {
  router: ms.Router;
  producers: Map<string, ms.Producer>;
  /** The scene of n people (grid). */
  sceneInput: (n: number) => Omit<SceneInput, 'frame'>;
  ffmpegPath: string;
  logger: Logger;
  /** Seconds per phase. */
  warmupMs: number;
  measureMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of one process so far (0 when there is none or it is gone). */
function cpuOf(pid: number | null | undefined): number {
  return pid ? sampleTree(pid).cpuSeconds : 0;
}

interface Phase {
  name: string;
  /** Cores of everything the program runs (encoders, decoders, the preview's ffmpeg) plus this Node process. */
  total: number;
  landscapeEncoder: number;
  verticalEncoder: number;
  /** Every decoder (the 16:9 program's, and the vertical program's own at its tile sizes). */
  decoders: number;
  previewEncoder: number;
  node: number;
}

/**
 * The preview's own delay: a program picture turns from dark to white, and the time until a receiver
 * (an ffmpeg consuming the preview producer through a PlainTransport, its decoder included) shows it.
 * What a browser adds on top (jitter buffer, rendering) is not in it.
 */
export async function previewLatency(ctx: Pick<OutputsBenchContext, 'router' | 'ffmpegPath' | 'logger'>, runs = 5): Promise<number[]> {
  const preview = await Preview.create({ id: 'bench-latency', router: ctx.router, width: 1280, height: 720, ffmpegPath: ctx.ffmpegPath, logger: ctx.logger });
  const dir = mkdtempSync(join(tmpdir(), 'onair-preview-bench-'));
  const picture = allocPicture(1280, 720);
  let white = false;
  let switchedAt = 0;
  let frame = 0;
  const clock = setInterval(() => {
    frame += 1;
    // A little motion so the encoder never sees a still picture.
    fillRect(picture, { x: 0, y: 0, w: 1280, h: 720 }, white ? { y: 235, u: 128, v: 128 } : { y: 16 + (frame % 16), u: 128, v: 128 });
    preview.push(picture);
  }, 1000 / 30);
  const transport = await ctx.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
  const port = await reservePortPair();
  await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
  const consumer = await transport.consume({ producerId: preview.producer.id, rtpCapabilities: ctx.router.rtpCapabilities, paused: true });
  const codec = consumer.rtpParameters.codecs[0];
  const sdp = join(dir, 'preview.sdp');
  writeFileSync(sdp, `v=0\no=- 0 0 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=video ${port} RTP/AVP ${codec?.payloadType}\na=rtpmap:${codec?.payloadType} VP8/90000\n`);
  const receiver = spawn(ctx.ffmpegPath, ['-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-protocol_whitelist', 'file,udp,rtp', '-i', sdp, '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', '32x18', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const latencies: number[] = [];
  let pending = Buffer.alloc(0);
  let waiting: ((ms: number) => void) | null = null;
  receiver.stdout.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (; pending.length >= 576; pending = pending.subarray(576)) {
      const bright = (pending[288] ?? 0) > 200;
      if (waiting && bright === white) {
        const done = waiting;
        waiting = null;
        done(performance.now() - switchedAt);
      }
    }
  });
  try {
    await sleep(500);
    await consumer.resume();
    await sleep(2000);
    for (let i = 0; i < runs * 2; i += 1) {
      const seen = new Promise<number>((resolve) => (waiting = resolve));
      white = !white;
      switchedAt = performance.now();
      const ms = await Promise.race([seen, sleep(5000).then(() => NaN)]);
      latencies.push(Math.round(ms));
      await sleep(700);
    }
  } finally {
    clearInterval(clock);
    receiver.kill('SIGKILL');
    transport.close();
    releasePortPair(port);
    await preview.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return latencies;
}

/** Prints the rows and returns them (markdown) for the compositor bench's table. */
export async function benchOutputs(ctx: OutputsBenchContext, inputs = 2, verticalPreset: string | null = null): Promise<string[]> {
  const verticalCodecArgs = verticalPreset ? encoderArgs('720p').map((a, i, all) => (all[i - 1] === '-preset' ? verticalPreset : a)) : undefined;
  const program = Program.create(
    { id: 'bench-outputs', router: ctx.router, resolution: '720p', ffmpegPath: ctx.ffmpegPath, logger: ctx.logger, ...(verticalCodecArgs ? { verticalCodecArgs } : {}) },
    ctx.sceneInput(inputs),
    ctx.producers,
  );
  program.on('tag', () => undefined);
  let preview: Preview | null = null;
  const phases: Phase[] = [];
  const measure = async (name: string): Promise<void> => {
    await sleep(ctx.warmupMs);
    const s0 = program.stats();
    const all = [s0.encoderPid ?? 0, s0.vertical?.encoderPid ?? 0, preview?.pid ?? 0, ...s0.decoders.map((d) => d.pid ?? 0)];
    const c0 = all.map(cpuOf);
    const e0 = [cpuOf(s0.encoderPid), cpuOf(s0.vertical?.encoderPid), cpuOf(preview?.pid)];
    const n0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(ctx.measureMs);
    const wall = (performance.now() - t0) / 1000;
    const c1 = all.map(cpuOf);
    const e1 = [cpuOf(s0.encoderPid), cpuOf(s0.vertical?.encoderPid), cpuOf(preview?.pid)];
    const n1 = process.cpuUsage(n0);
    const node = (n1.user + n1.system) / 1e6 / wall;
    const ffmpeg = c1.reduce((sum, c, i) => sum + (c - (c0[i] ?? 0)), 0) / wall;
    const [le, ve, pe] = e1.map((c, i) => (c - (e0[i] ?? 0)) / wall) as [number, number, number];
    const decoders = ffmpeg - le - ve - pe;
    phases.push({ name, total: ffmpeg + node, landscapeEncoder: le, verticalEncoder: ve, decoders, previewEncoder: pe, node });
  };
  try {
    await measure('16:9 alone');
    preview = await Preview.create({ id: 'bench', router: ctx.router, width: program.landscape.width, height: program.landscape.height, ffmpegPath: ctx.ffmpegPath, logger: ctx.logger });
    const p = preview;
    program.landscape.onPicture = (picture) => p.push(picture);
    await measure('+ preview');
    program.setVertical({ layout: 'auto', resolution: '720p' });
    await measure('+ vertical 720x1280');
    program.landscape.onPicture = null;
    await p.close();
    preview = null;
    program.setVertical(null);
    await measure('16:9 alone again');
  } finally {
    await preview?.close();
    await program.close();
  }
  const [alone, plusPreview, plusVertical, again] = phases as [Phase, Phase, Phase, Phase];
  const baseline = (alone.total + again.total) / 2;
  const previewAdded = plusPreview.total - baseline;
  const verticalAdded = plusVertical.total - plusPreview.total;
  const rows = [
    `| outputs (720p30, ${inputs} inputs${verticalPreset ? `, vertical ${verticalPreset}` : ''}) | cores | added | 16:9 encoder | vertical encoder | preview encoder | decoders | node |`,
    '|---|---|---|---|---|---|---|---|',
    ...phases.map(
      (ph) =>
        `| ${ph.name} | ${ph.total.toFixed(2)} | ${ph === alone || ph === again ? '—' : ph === plusPreview ? `${previewAdded >= 0 ? '+' : ''}${previewAdded.toFixed(3)}` : `${verticalAdded >= 0 ? '+' : ''}${verticalAdded.toFixed(2)}`} | ${ph.landscapeEncoder.toFixed(2)} | ${ph.verticalEncoder.toFixed(2)} | ${ph.previewEncoder.toFixed(3)} | ${ph.decoders.toFixed(2)} | ${ph.node.toFixed(2)} |`,
    ),
  ];
  const latencies = await previewLatency(ctx).catch(() => [] as number[]);
  const sorted = [...latencies].filter(Number.isFinite).sort((a, b) => a - b);
  rows.push('', `preview delay, program picture → decoded at a receiver (ffmpeg, not a browser): median ${sorted[Math.floor(sorted.length / 2)] ?? 'n/a'} ms, max ${sorted.at(-1) ?? 'n/a'} ms over ${latencies.length} changes (target: at most 1 s behind)`);
  for (const row of rows) console.log(row);
  console.log(
    `outputs: preview adds ${previewAdded.toFixed(3)} cores (target ≤ 0.05; its own ffmpeg ${plusPreview.previewEncoder.toFixed(3)}); ` +
      `the vertical program adds ${verticalAdded.toFixed(2)} cores = ${(verticalAdded / Math.max(0.01, alone.landscapeEncoder)).toFixed(2)}× the 16:9 encoder (target ≤ 0.6×); ` +
      `its encoder alone ${(plusVertical.verticalEncoder / Math.max(0.01, plusVertical.landscapeEncoder)).toFixed(2)}× the 16:9 encoder; baseline noise ${Math.abs(alone.total - again.total).toFixed(2)} cores; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  return rows;
}
