/**
 * Rows of `npm run bench -- compositor` (BENCH_ONLY=outputs for these alone) for the program's extra
 * outputs: the cores the hosts' preview and the vertical (9:16) program add to the 16:9 program alone,
 * measured on the same Program, inputs and router in one run, one phase after the other:
 * 16:9 alone → + preview → + vertical (720x1280) → 16:9 alone again (the baseline, taken twice to
 * show the noise). The vertical encoder is also compared with the 16:9 one process by process.
 * Imported by bench/compositor.ts; it runs nothing by itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../server/src/logger.js';
import { Preview } from '../server/src/compositor/Preview.js';
import { allocPicture, fillRect, pictureBytes, type Picture } from '../server/src/compositor/picture.js';
import { bilinearMap, fillWindow, scaleBilinear, scaleMap, scalePicture } from '../server/src/compositor/scalePicture.js';
import { releasePortPair, reservePortPair } from '../server/src/media/ports.js';
import { Program } from '../server/src/compositor/Program.js';
import { encoderArgs } from '../server/src/compositor/profile.js';
import type { SceneInput } from '../server/src/compositor/scene.js';
import { participantDecoderArgs } from '../server/src/compositor/ParticipantDecoder.js';
import { SharedTile } from '../server/src/compositor/SharedTile.js';
import { scaleSimd, simdKernel, simdMap, useSimdScaler } from '../server/src/compositor/simdScale.js';
import { run } from '../e2e/fixtures/processes.js';
import { testClip } from '../e2e/fixtures/rtpParticipant.js';
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
    // The same with the tiles scaled in JavaScript (SharedTile before the SIMD kernel), for the ratio in one run.
    useSimdScaler(false);
    await measure('+ vertical, tiles scaled in JavaScript (before)');
    useSimdScaler(true);
    program.landscape.onPicture = null;
    await p.close();
    preview = null;
    program.setVertical(null);
    await measure('16:9 alone again');
  } finally {
    useSimdScaler(true);
    await preview?.close();
    await program.close();
  }
  const [alone, plusPreview, plusVertical, plusVerticalJs, again] = phases as [Phase, Phase, Phase, Phase, Phase];
  const baseline = (alone.total + again.total) / 2;
  const previewAdded = plusPreview.total - baseline;
  const verticalAdded = plusVertical.total - plusPreview.total;
  const verticalJsAdded = plusVerticalJs.total - plusPreview.total;
  const parts = (ph: Phase): number => ph.verticalEncoder + (ph.decoders - plusPreview.decoders) + (ph.node - plusPreview.node);
  const verticalParts = parts(plusVertical);
  const landscapeAlone = (alone.landscapeEncoder + again.landscapeEncoder) / 2;
  const rows = [
    `| outputs (720p30, ${inputs} inputs${verticalPreset ? `, vertical ${verticalPreset}` : ''}) | cores | added | 16:9 encoder | vertical encoder | preview encoder | decoders | node |`,
    '|---|---|---|---|---|---|---|---|',
    ...phases.map(
      (ph) =>
        `| ${ph.name} | ${ph.total.toFixed(2)} | ${ph === alone || ph === again ? '—' : ph === plusPreview ? `${previewAdded >= 0 ? '+' : ''}${previewAdded.toFixed(3)}` : `${ph.total - plusPreview.total >= 0 ? '+' : ''}${(ph.total - plusPreview.total).toFixed(2)}`} | ${ph.landscapeEncoder.toFixed(2)} | ${ph.verticalEncoder.toFixed(2)} | ${ph.previewEncoder.toFixed(3)} | ${ph.decoders.toFixed(2)} | ${ph.node.toFixed(2)} |`,
    ),
  ];
  rows.push('', ...(await decodeOnceStudy(ctx.ffmpegPath, await testClip('640x360', 300, ctx.ffmpegPath, { noise: true })).catch((error: unknown) => [`one decode per camera study failed: ${String(error)}`])));
  rows.push('', ...(await verticalSharpnessStudy(ctx.ffmpegPath, await testClip('1280x720', 440, ctx.ffmpegPath, { simulcast: true })).catch((error: unknown) => [`vertical tile sharpness study failed: ${String(error)}`])));
  const latencies = await previewLatency(ctx).catch(() => [] as number[]);
  const sorted = [...latencies].filter(Number.isFinite).sort((a, b) => a - b);
  rows.push('', `preview delay, program picture → decoded at a receiver (ffmpeg, not a browser): median ${sorted[Math.floor(sorted.length / 2)] ?? 'n/a'} ms, max ${sorted.at(-1) ?? 'n/a'} ms over ${latencies.length} changes (target: at most 1 s behind)`);
  for (const row of rows) console.log(row);
  console.log(
    `outputs: preview adds ${previewAdded.toFixed(3)} cores (target ≤ 0.05; its own ffmpeg ${plusPreview.previewEncoder.toFixed(3)}); ` +
      `the vertical program adds ${verticalAdded.toFixed(2)} cores = ${(verticalAdded / Math.max(0.01, alone.landscapeEncoder)).toFixed(2)}× the 16:9 encoder (target ≤ 0.6×); ` +
      `its encoder alone ${(plusVertical.verticalEncoder / Math.max(0.01, plusVertical.landscapeEncoder)).toFixed(2)}× the 16:9 encoder beside it; ` +
      // On a saturated machine the totals cannot grow (both programs share what they get): its own parts say more.
      `its own parts (its encoder + what decoders and node added) ${verticalParts.toFixed(2)} cores = ${(verticalParts / Math.max(0.01, landscapeAlone)).toFixed(2)}× the 16:9 encoder alone; ` +
      `with the tiles scaled in JavaScript (before) it adds ${verticalJsAdded.toFixed(2)} cores = ${(verticalJsAdded / Math.max(0.01, alone.landscapeEncoder)).toFixed(2)}×, its own parts ${parts(plusVerticalJs).toFixed(2)} = ${(parts(plusVerticalJs) / Math.max(0.01, landscapeAlone)).toFixed(2)}× (node ${plusVerticalJs.node.toFixed(3)} against ${plusVertical.node.toFixed(3)} with the kernel); baseline noise ${Math.abs(alone.total - again.total).toFixed(2)} cores; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  return rows;
}

/** The output half of a participant decoder's arguments (what follows its SDP input) for one picture size. */
function decoderOutputs(width: number, height: number): string[] {
  const args = participantDecoderArgs('in.sdp', { width, height, fit: 'fill' }, false);
  return args.slice(args.indexOf('in.sdp') + 1).map((a) => (a === 'pipe:1' ? '/dev/null' : a));
}

/**
 * One decode per camera: what it costs (cores per camera at 30 fps) to give the vertical program a
 * camera's tile, three ways, on the bench's own camera clip (640x360 VP8, the 16:9 program's 2x2 tile
 * size): a second decoder at the vertical tile's size (what the vertical program did before), one
 * decoder with a second scaled output (split), and the 16:9 decoder's picture cut and scaled in this
 * process (SharedTile, what it does now). ffmpeg's CPU from -benchmark (user + system), Node's from
 * process.cpuUsage, so both little affected by the load.
 */
export async function decodeOnceStudy(ffmpegPath: string, clip: string): Promise<string[]> {
  const loops = 4;
  const input = ['-hide_banner', '-nostdin', '-y', '-benchmark', '-threads', '1', '-stream_loop', String(loops), '-i', clip, '-an'];
  const cpu = async (outputs: string[]): Promise<{ seconds: number; frames: number }> => {
    const out = await run(ffmpegPath, [...input, ...outputs]);
    const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(out);
    // showinfo prints one line per picture (the split run prints two).
    const frames = [...out.matchAll(/showinfo.* n: *\d+ /g)].length;
    return { seconds: m ? Number(m[1]) + Number(m[2]) : NaN, frames };
  };
  const perCamera = (seconds: number, frames: number): number => seconds / (frames / 30);
  const vf = (args: string[]): string => args[args.indexOf('-vf') + 1] ?? '';
  const rows = ['| the vertical program\'s tile of one camera (640x360 VP8 in) | 360x640 tile (four people) | 720x640 tile (two) |', '|---|---|---|'];
  const landscape = decoderOutputs(640, 360);
  const one = await cpu(landscape);
  const cells: string[][] = [[], [], [], []];
  for (const [w, h] of [[360, 640], [720, 640]] as const) {
    const vertical = decoderOutputs(w, h);
    const second = await cpu(vertical);
    const split = await cpu(['-filter_complex_threads', '1', '-filter_complex', `[0:v]split=2[a][b];[a]${vf(landscape)}[o1];[b]${vf(vertical)}[o2]`, '-map', '[o1]', '-fps_mode', 'passthrough', '-f', 'rawvideo', '/dev/null', '-map', '[o2]', '-fps_mode', 'passthrough', '-f', 'rawvideo', '/dev/null']);
    const src = allocPicture(640, 360);
    for (let i = 0; i < src.data.length; i += 1) src.data[i] = (i * 7) & 0xff;
    const shown = { current: { picture: src }, frameKey: 0, lastFrameAt: 0 };
    const tile = new SharedTile(() => shown, { width: w, height: h, fit: 'fill' });
    const pictures = 900;
    const c0 = process.cpuUsage();
    for (let i = 0; i < pictures; i += 1) {
      shown.frameKey = i + 1;
      void tile.picture;
    }
    const c1 = process.cpuUsage(c0);
    cells[0]!.push(perCamera(one.seconds, one.frames).toFixed(3));
    cells[1]!.push(perCamera(second.seconds, second.frames).toFixed(3));
    cells[2]!.push(`+${perCamera(split.seconds - one.seconds, one.frames).toFixed(3)}`);
    cells[3]!.push(`+${perCamera((c1.user + c1.system) / 1e6, pictures).toFixed(3)}`);
  }
  const names = [
    'the 16:9 decoder alone (640x360 tile), for scale',
    'a second decoder at the vertical tile\'s size (before)',
    'one decoder, a second scaled output (split)',
    'the 16:9 picture cut and scaled in the server (SharedTile, now)',
  ];
  rows.push(...names.map((name, i) => `| ${name} | ${cells[i]!.join(' | ')} |`));
  for (const row of rows) console.log(row);
  return rows;
}

/** A picture's pixels as ffmpeg's `ssim` and `psnr` filters read them against a reference (both raw yuv420p files of one size). */
async function compareRaw(ffmpegPath: string, size: string, file: string, reference: string): Promise<{ ssim: number; psnr: number }> {
  const raw = ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', size, '-r', '30'];
  const out = await run(ffmpegPath, ['-hide_banner', '-nostdin', ...raw, '-i', file, ...raw, '-i', reference, '-lavfi', '[0:v]split[a0][a1];[1:v]split[b0][b1];[a0][b0]ssim;[a1][b1]psnr', '-f', 'null', '-']);
  return { ssim: Number(/SSIM .*All:([\d.]+)/.exec(out)?.[1] ?? NaN), psnr: Number(/PSNR .*average:([\d.inf]+)/.exec(out)?.[1] ?? NaN) };
}

/**
 * How sharp the vertical program's tiles are, and what each way of making them costs: on a simulcast
 * camera clip (its 640x360 and 1280x720 layers, as a browser sends them), each way's tile is compared
 * (SSIM, PSNR over `frames` pictures) with the same camera decoded straight at the tile's size from
 * its top layer. The ways: the 16:9 decoder's 640x360 picture (the two- and four-person 16:9 tile)
 * cut and scaled by nearest sample (before) or bilinear; or the 16:9 decoder taking the 1280x720
 * layer at 1280x720 (enough pixels for the cut), whose 16:9 tile is then scaled down in Node (the
 * path Source has for shrunken tiles, nearest sample; its own SSIM against the top layer scaled
 * straight to 640x360 is in the last rows). Cores per camera at 30 fps: Node's scaling
 * (process.cpuUsage) plus, for the 1280x720 decoder, what ffmpeg (-benchmark) spends more than
 * on the 640x360 layer; reading 4× the bytes from the decoder's pipe is not in it.
 */
export async function verticalSharpnessStudy(ffmpegPath: string, clip: string, frames = 60): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'onair-sharpness-'));
  const decode = async (layer: number, width: number, height: number, file: string): Promise<void> => {
    await run(ffmpegPath, ['-hide_banner', '-nostdin', '-y', '-threads', '1', '-i', clip, '-map', `0:v:${layer}`, '-filter_threads', '1', '-vf', vf(decoderOutputs(width, height)), '-frames:v', String(frames), '-f', 'rawvideo', file]);
  };
  // A decoder's cores (user + system from -benchmark) over the clip five times, at 30 fps.
  const decodeCores = async (layer: number, width: number, height: number): Promise<number> => {
    const out = await run(ffmpegPath, ['-hide_banner', '-nostdin', '-y', '-benchmark', '-threads', '1', '-stream_loop', '4', '-i', clip, '-map', `0:v:${layer}`, '-filter_threads', '1', '-vf', vf(decoderOutputs(width, height)), '-f', 'rawvideo', '/dev/null']);
    const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(out);
    const pictures = [...out.matchAll(/showinfo.* n: *\d+ /g)].length;
    return m ? (Number(m[1]) + Number(m[2])) / (pictures / 30) : NaN;
  };
  const vf = (args: string[]): string => args[args.indexOf('-vf') + 1] ?? '';
  try {
    const small = join(dir, 'l1.yuv');
    const large = join(dir, 'l2.yuv');
    await decode(1, 640, 360, small);
    await decode(2, 1280, 720, large);
    const smallCores = await decodeCores(1, 640, 360);
    const largeCores = await decodeCores(2, 1280, 720);
    const read = (file: string, width: number, height: number): Picture[] => {
      const bytes = readFileSync(file);
      const n = pictureBytes(width, height);
      return Array.from({ length: Math.floor(bytes.length / n) }, (_, i) => ({ width, height, data: bytes.subarray(i * n, (i + 1) * n) }));
    };
    const l1 = read(small, 640, 360);
    const l2 = read(large, 1280, 720);
    type Scaler = 'nearest' | 'bilinear' | 'bilinear luma' | 'across' | 'across luma' | 'across luma simd';
    type Way = { name: string; pictures: Picture[]; scaler: Scaler; decodeCores: number };
    const ways: Way[] = [
      { name: '640x360 picture, nearest sample (before)', pictures: l1, scaler: 'nearest', decodeCores: 0 },
      { name: '640x360 picture, bilinear luma, nearest chroma', pictures: l1, scaler: 'bilinear luma', decodeCores: 0 },
      { name: '640x360 picture, bilinear', pictures: l1, scaler: 'bilinear', decodeCores: 0 },
      { name: '640x360 picture, blended along rows, nearest row', pictures: l1, scaler: 'across', decodeCores: 0 },
      { name: '640x360 picture, luma blended along rows, the rest nearest, in JavaScript (SharedTile before)', pictures: l1, scaler: 'across luma', decodeCores: 0 },
      { name: '**the same by the SIMD kernel (SharedTile, now; the same bytes)**', pictures: l1, scaler: 'across luma simd', decodeCores: 0 },
      { name: 'the 16:9 decoder at 1280x720 from the top layer, nearest sample', pictures: l2, scaler: 'nearest', decodeCores: largeCores - smallCores },
      { name: 'the 16:9 decoder at 1280x720 from the top layer, bilinear', pictures: l2, scaler: 'bilinear', decodeCores: largeCores - smallCores },
    ];
    // What the 16:9 tile costs and looks like when its decoder delivers 1280x720 (scaled down in Node, as Source does).
    const landscapeRef = join(dir, 'ref-640x360.yuv');
    await decode(2, 640, 360, landscapeRef);
    const down = allocPicture(640, 360);
    const downMap = scaleMap(l2[0]!, down);
    const downFile = join(dir, 'down.yuv');
    for (const p of l2) scalePicture(down, p, downMap);
    const d0 = process.cpuUsage();
    for (const p of l2) scalePicture(down, p, downMap);
    const dc = process.cpuUsage(d0);
    const downBytes = l2.map((p) => {
      scalePicture(down, p, downMap);
      return Buffer.from(down.data);
    });
    writeFileSync(downFile, Buffer.concat(downBytes));
    const downCores = ((dc.user + dc.system) / 1e6) / (l2.length / 30);
    const rows = [
      `| the vertical tile of one camera (1280x720 simulcast clip, ${frames} pictures), vs the top layer decoded at the tile's size | 720x640 tile (two people): SSIM, PSNR dB, cores | 360x640 tile (four): SSIM, PSNR dB, cores |`,
      '|---|---|---|',
    ];
    const cells: string[][] = ways.map(() => []);
    for (const [w, h] of [[720, 640], [360, 640]] as const) {
      const size = `${w}x${h}`;
      const ref = join(dir, `ref-${size}.yuv`);
      await decode(2, w, h, ref);
      for (const [i, way] of ways.entries()) {
        const src = way.pictures[0]!;
        const tile = allocPicture(w, h);
        const window = fillWindow(src, tile);
        const nearest = scaleMap(src, tile, window);
        const bilinear = bilinearMap(src, tile, window, way.scaler.startsWith('across') ? 'nearest' : 'bilinear');
        const kernel = simdKernel();
        const tables = way.scaler === 'across luma simd' ? simdMap(bilinear) : null;
        if (way.scaler === 'across luma simd' && (!kernel || !tables)) throw new Error('the SIMD kernel is not built or does not take this tile');
        const scale = (picture: Picture): void => {
          if (way.scaler === 'nearest') scalePicture(tile, picture, nearest);
          else if (tables && kernel) scaleSimd(kernel, tile, picture, tables);
          else scaleBilinear(tile, picture, bilinear, way.scaler === 'bilinear' || way.scaler === 'across' ? 'bilinear' : 'nearest');
        };
        // Timed after a first pass (the JIT has compiled the scaler by then), over five more.
        for (const picture of way.pictures) scale(picture);
        const passes = 5;
        const c0 = process.cpuUsage();
        for (let n = 0; n < passes; n += 1) for (const picture of way.pictures) scale(picture);
        const c = process.cpuUsage(c0);
        const cpu = (c.user + c.system) / 1e6 / passes;
        const out = way.pictures.map((picture) => {
          scale(picture);
          return Buffer.from(tile.data);
        });
        const file = join(dir, `way${i}-${size}.yuv`);
        writeFileSync(file, Buffer.concat(out));
        const q = await compareRaw(ffmpegPath, size, file, ref);
        const cores = cpu / (way.pictures.length / 30) + way.decodeCores + (way.pictures === l2 ? downCores : 0);
        cells[i]!.push(`${q.ssim.toFixed(4)}, ${q.psnr.toFixed(2)}, ${cores.toFixed(3)}`);
      }
    }
    rows.push(...ways.map((way, i) => `| ${way.name} | ${cells[i]!.join(' | ')} |`));
    const q1 = await compareRaw(ffmpegPath, '640x360', small, landscapeRef);
    const q2 = await compareRaw(ffmpegPath, '640x360', downFile, landscapeRef);
    rows.push(
      `| *the 16:9 tile (640x360) itself:* the 640x360 layer (today) | ${q1.ssim.toFixed(4)}, ${q1.psnr.toFixed(2)}, ${smallCores.toFixed(3)} (its decoder) | |`,
      `| *the 16:9 tile:* the 1280x720 picture scaled down by nearest sample | ${q2.ssim.toFixed(4)}, ${q2.psnr.toFixed(2)}, ${(largeCores + downCores).toFixed(3)} (decoder + scaling) | |`,
    );
    for (const row of rows) console.log(row);
    console.log(`sharpness study: load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
