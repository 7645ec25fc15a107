/**
 * Compositor benchmark (prints figures; not a test): `npm run bench -- compositor`
 * (`BENCH_QUICK=1` for 720p only). For 2, 4 and 9 inputs at 720p30 and 1080p30, the cores of the persistent
 * Program (one decoder per input at its tile size + the server's compositing loop + one x264
 * encoder) side by side with a plain ffmpeg (every input decoded in full, scaled, xstack,
 * libx264, the same encoder settings: the old restart-and-splice composer), both fed the same RTP
 * from the same mediasoup router in the same run; then peak cores around a join, a leave and a
 * layout switch, and the frames the program repeated around each.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import type { Resolution } from '@onair/shared';
import { Composer } from './baseline/Composer.js';
import { planComposition, type PlanParticipant } from './baseline/plan.js';
import { Program, type ProgramOptions, type ProgramStats } from '../server/src/compositor/Program.js';
import type { SceneInput, SceneParticipant } from '../server/src/compositor/scene.js';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { encoderArgs, VERTICAL_X264_PARAMS } from '../server/src/compositor/profile.js';
import { startRtpParticipant, TEST_MEDIA_CODECS, type RtpParticipant } from '../e2e/fixtures/rtpParticipant.js';
import { FlvTagRecorder, readLipSync, startFlashBeepParticipant } from '../e2e/fixtures/lipSync.js';
import { CpuTracker, cpuSecondsOf, rssBytesOf } from './proc.js';
import { TAG_VIDEO } from '../server/src/flv/flv.js';
import { benchOutputs } from './outputs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = pino({ level: 'silent' });
const ffmpegPath = resolveFfmpegPath();
const quick = process.argv.includes('quick') || process.env.BENCH_QUICK === '1';
/** BENCH_ONLY=cores|events|lipsync|encoder runs one part. */
const only = process.env.BENCH_ONLY ?? null;
const part = (name: string): boolean => only === null || only === name;
const WARMUP_MS = 3000;
const MEASURE_MS = 8000;
const EVENTS_WARMUP_MS = 18_000;

const cpuSeconds = cpuSecondsOf;

function sumCpu(pids: Array<number | null | undefined>): number {
  let total = 0;
  for (const pid of new Set(pids)) total += cpuSeconds(pid);
  return total;
}

function rssMiB(pids: Array<number | null | undefined>): number {
  return pids.reduce<number>((sum, pid) => sum + rssBytesOf(pid), 0) / 1024 / 1024;
}

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
/**
 * Nine senders, each its own producer as in a real room, each only looping a pre-encoded clip with
 * -c copy: by default what the OnAir client sends for a 720p camera (three VP8 simulcast layers,
 * 320x180 / 640x360 / 1280x720); BENCH_SIMULCAST=0 sends one 640x360 layer (the earlier figures).
 */
const simulcast = process.env.BENCH_SIMULCAST !== '0';
/** BENCH_PLAIN_LAYER=1: the plain ffmpeg takes each camera's 640x360 layer instead of the top one. */
const plainLayer = process.env.BENCH_PLAIN_LAYER ? Number(process.env.BENCH_PLAIN_LAYER) : null;
const senders: RtpParticipant[] = [];
for (let i = 0; i < 9; i += 1) {
  senders.push(await startRtpParticipant({ router, peerId: `s${i}`, size: simulcast ? '1280x720' : '640x360', simulcast, noise: true, frequency: 300 + 200 * (i % 3), ffmpegPath }));
}
// mediasoup switches a consumer to another simulcast layer only once it has had a sender report for
// it, and ffmpeg sends its first one about 5 s after it starts.
if (simulcast) await sleep(6000);
const producers = new Map<string, mediasoup.types.Producer>();
for (const s of senders) for (const { producer } of s.producers) producers.set(producer.id, producer);

const people = (n: number): SceneParticipant[] =>
  Array.from({ length: n }, (_, i) => {
    const s = senders[i % senders.length]!;
    return {
      peerId: `p${i}`,
      displayName: `Person ${i + 1}`,
      camera: s.camera ? { producerId: s.camera.id, paused: false } : null,
      screen: null,
      mic: s.mic ? { producerId: s.mic.id, paused: false } : null,
    };
  });
const sceneInput = (n: number, layout: 'grid' | 'speaker' = 'grid'): Omit<SceneInput, 'frame'> => ({
  participants: people(n), layout, speakerId: 'p0', title: null, lowerThird: null, slateText: 'Starting soon',
});

async function measureProgram(resolution: Resolution, n: number): Promise<{ cores: number; ffmpeg: number; node: number; rss: number; stats: ProgramStats; split: string }> {
  const program = Program.create({ id: `bench-${resolution}-${n}`, router, resolution, ffmpegPath, logger }, sceneInput(n), producers);
  program.on('tag', () => undefined);
  await sleep(WARMUP_MS);
  const pids = () => [program.stats().encoderPid, ...program.stats().decoders.map((d) => d.pid)];
  // Decoders come and go during the window (a decoder at the tile's own size takes over from a
  // larger one): every process is sampled every 200 ms, a process seen first during the window counts
  // from 0 and one that ends keeps its last reading (at most 200 ms of it lost).
  const first = new Map<number, number>();
  const last = new Map<number, { cpu: number; group: 'encoder' | 'decoders' }>();
  const sample = (start: boolean) => {
    const s = program.stats();
    const seen: Array<[number | null | undefined, 'encoder' | 'decoders']> = [[s.encoderPid, 'encoder'], ...s.decoders.map((d): [number | null | undefined, 'decoders'] => [d.pid, 'decoders'])];
    for (const [pid, group] of seen) {
      if (!pid) continue;
      const cpu = cpuSeconds(pid);
      if (cpu === 0 && last.has(pid)) continue;
      if (!first.has(pid)) first.set(pid, start ? cpu : 0);
      last.set(pid, { cpu, group });
    }
  };
  sample(true);
  const n0 = process.cpuUsage();
  const t0 = performance.now();
  const sampler = setInterval(() => sample(false), 200);
  await sleep(MEASURE_MS);
  sample(false);
  clearInterval(sampler);
  const n1 = process.cpuUsage(n0);
  const wall = (performance.now() - t0) / 1000;
  const used = { encoder: 0, decoders: 0 };
  for (const [pid, { cpu, group }] of last) used[group] += cpu - (first.get(pid) ?? 0);
  const decodersSeen = [...last.values()].filter((v) => v.group === 'decoders').length;
  const stats = program.stats();
  const rss = rssMiB(pids()) + process.memoryUsage().rss / 1024 / 1024;
  await program.close();
  const ffmpeg = (used.encoder + used.decoders) / wall;
  const node = (n1.user + n1.system) / 1e6 / wall;
  const split = `encoder ${(used.encoder / wall).toFixed(2)}, participant decoders ${(used.decoders / wall).toFixed(2)} (${decodersSeen} processes), node ${node.toFixed(2)}`;
  return { cores: ffmpeg + node, ffmpeg, node, rss, stats, split };
}

/**
 * The plain ffmpeg's cores, the frame rate it kept, and the cores it would need at 30 fps: its CPU
 * seconds per output picture × 30. Below 30 fps it fell behind real time (its main thread, which runs
 * the whole filter graph, got less than the core it needs); its demuxer threads keep reading, so it
 * still decodes and composes every picture, only later, and the per-picture figure stays its cost as
 * long as no RTP was lost (`lossLines`: stderr lines for lost packets or broken pictures).
 */
async function measurePlain(resolution: Resolution, n: number): Promise<{ cores: number; fps: number; coresAt30: number; lossLines: number }> {
  const participants: PlanParticipant[] = people(n).map((p) => ({ peerId: p.peerId, displayName: p.displayName, camera: p.camera?.producerId ?? null, screen: null, mic: p.mic?.producerId ?? null }));
  const composition = planComposition({ participants, layout: 'grid', speakerId: null, resolution, title: null, lowerThird: null, slateText: '' });
  const composer = await Composer.create({ id: `plain-${resolution}-${n}`, router, composition, resolution, producers, ffmpegPath, logger, fontFile: '/nonexistent', ...(plainLayer !== null ? { spatialLayer: plainLayer } : {}) });
  let videoTags = 0;
  composer.on('tag', (tag) => {
    if (tag.type === TAG_VIDEO) videoTags += 1;
  });
  await sleep(WARMUP_MS);
  const c0 = cpuSeconds(composer.pid);
  const v0 = videoTags;
  const l0 = composer.rtpLossLines;
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(composer.pid) - c0;
  const frames = videoTags - v0;
  const lossLines = composer.rtpLossLines - l0;
  await composer.close();
  return { cores: cpu / wall, fps: frames / wall, coresAt30: frames > 0 ? (cpu / frames) * 30 : Number.NaN, lossLines };
}

console.log(`cores on this machine: ${cpus().length}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  simulcast
    ? 'inputs: 9 senders of camera-like VP8 (test pattern + temporal noise) in 3 simulcast layers (320x180 150k, 640x360 500k, 1280x720 1500k, a keyframe each second) + Opus; each input is its own producer; the plain ffmpeg takes the top layer'
    : 'inputs (BENCH_SIMULCAST=0): 9 senders of 640x360 VP8 camera-like clips (test pattern + temporal noise) + Opus; each input is its own producer',
);
const rows: string[] = ['| output | inputs | program cores (ffmpeg + node) | plain ffmpeg xstack | ratio | repeated / dropped frames | node ms per frame | RSS (program) |', '|---|---|---|---|---|---|---|---|'];
const plan: Array<[Resolution, number]> = quick ? [['720p', 2], ['720p', 4], ['720p', 9]] : [['720p', 2], ['720p', 4], ['720p', 9], ['1080p', 2], ['1080p', 4], ['1080p', 9]];
for (const [resolution, n] of part('cores') ? plan : []) {
  try {
    const program = await measureProgram(resolution, n);
    // On a busy machine the plain ffmpeg falls behind real time; up to two more tries for one that keeps up.
    let plain = await measurePlain(resolution, n);
    for (let attempt = 0; attempt < 2 && plain.fps < 29; attempt += 1) {
      const again = await measurePlain(resolution, n);
      if (again.fps > plain.fps) plain = again;
    }
    // A plain ffmpeg that fell behind real time used less than it needs: the ratio is then taken
    // against its cores per picture × 30 (marked), and means little when it lost RTP meanwhile.
    const behind = plain.fps < 29;
    const ratio = `${(program.cores / (behind ? plain.coresAt30 : plain.cores)).toFixed(2)}×${behind ? ' (per picture)' : ''}`;
    const plainCell = behind
      ? `${plain.coresAt30.toFixed(2)} at 30 fps (ran ${plain.fps.toFixed(1)} fps on ${plain.cores.toFixed(2)} cores${plain.lossLines > 0 ? `; ${plain.lossLines} RTP loss lines` : ''})`
      : `${plain.cores.toFixed(2)} (${plain.fps.toFixed(1)} fps${plain.lossLines > 0 ? `; ${plain.lossLines} RTP loss lines` : ''})`;
    const row = `| ${resolution}30 | ${n} | ${program.cores.toFixed(2)} (${program.ffmpeg.toFixed(2)} + ${program.node.toFixed(2)}) | ${plainCell} | ${ratio} | ${program.stats.repeatedFrames} / ${program.stats.droppedFrames} | ${program.stats.drawMsPerFrame} | ${program.rss.toFixed(0)} MiB |`;
    rows.push(row);
    console.log(`${row}  [${program.split}; load average ${loadavg()[0]!.toFixed(1)}]`);
  } catch (error) {
    console.log(`${resolution} ${n}: FAILED (${error instanceof Error ? error.message : String(error)})`);
  }
}

// Events while live (720p): peak cores in 500 ms windows around a join, a leave and a layout switch vs
// steady state, split by component (BENCH_EVENT_RUNS=3 repeats it).
type Component = 'encoder' | 'decoders' | 'new decoders' | 'stills' | 'node' | 'mediasoup';
/**
 * What the total counts: the program's processes and Node. "decoders": those on air before the event;
 * "new decoders": the others (started for it, spares adopted or started); "stills": ffmpeg drawtext
 * renders (names, labels), spare renderers and the mkfifo runs that make FIFOs.
 */
const COMPONENTS: Component[] = ['encoder', 'decoders', 'new decoders', 'stills', 'node'];

/** One Program through 3 → 4 → 3 inputs and grid → speaker → grid; `options` are the Program's (bench switches). */
async function measureEvents(label: string, options: Partial<ProgramOptions>): Promise<string[]> {
  const tracker = new CpuTracker(50);
  const createdAt = performance.now();
  const program = Program.create({ id: `bench-events-${label}`, router, resolution: '720p', ffmpegPath, logger, ...options }, sceneInput(3), producers);
  program.on('tag', () => undefined);
  const isDecoder = (pid: number): boolean => {
    const command = tracker.commands.get(pid) ?? '';
    return command.includes('onair-decoder-') && command.includes('-f sdp');
  };
  const encoderPids = new Set<number>();
  const noteEncoder = (): void => {
    const pid = program.stats().encoderPid;
    if (pid) encoderPids.add(pid);
  };
  // Live for a while before the events (as a broadcast is): past go-live's own start-ups, and long
  // enough for the spares to be replaced after it (SPARE_REFILL_AFTER_MS); the same for both variants.
  await sleep(EVENTS_WARMUP_MS);
  noteEncoder();
  /** Decoders on air before the current event. */
  let onAir = new Set<number>();
  const noteOnAir = (): void => {
    onAir = new Set(program.stats().decoders.flatMap((d) => (d.pid ? [d.pid] : [])));
  };
  /** Cores of each component in [t0, t1]. */
  const split = (t0: number, t1: number): Record<Component, number> => {
    const out: Record<Component, number> = { encoder: 0, decoders: 0, 'new decoders': 0, stills: 0, node: 0, mediasoup: 0 };
    const secs = (t1 - t0) / 1000;
    for (const pid of tracker.pids()) {
      const cpu = tracker.between(pid, t0, t1) / secs;
      if (encoderPids.has(pid)) out.encoder += cpu;
      else if (isDecoder(pid)) out[onAir.has(pid) ? 'decoders' : 'new decoders'] += cpu;
      else if (pid === worker.pid) out.mediasoup += cpu;
      else if ((tracker.born.get(pid) ?? 0) > createdAt) out.stills += cpu;
    }
    out.node = tracker.between('node', t0, t1) / secs;
    return out;
  };
  const total = (c: Record<Component, number>): number => COMPONENTS.reduce((sum, k) => sum + c[k], 0);
  const fmt = (c: Record<Component, number>, base?: Record<Component, number>): string =>
    [...COMPONENTS, 'mediasoup' as const].map((k) => `${k} ${c[k].toFixed(2)}${base && k !== 'new decoders' ? ` (${base[k].toFixed(2)})` : ''}`).join(', ');
  const windows = async (n: number): Promise<Array<Record<Component, number>>> => {
    const out: Array<Record<Component, number>> = [];
    let t0 = tracker.sample();
    for (let i = 0; i < n; i += 1) {
      await sleep(500);
      noteEncoder();
      const t1 = tracker.sample();
      out.push(split(t0, t1));
      t0 = t1;
    }
    return out;
  };
  noteOnAir();
  const steadyWindows = await windows(6);
  const steady = Object.fromEntries([...COMPONENTS, 'mediasoup' as const].map((k) => [k, steadyWindows.reduce((a, w) => a + w[k], 0) / steadyWindows.length])) as Record<Component, number>;
  const steadyCores = total(steady);
  // The steady state's own busiest window: x264 does not spend evenly from one 500 ms to the next, so
  // an event's peak is also put against what a window with no event reaches.
  const steadyPeak = Math.max(...steadyWindows.map(total));
  const lines = [`steady (${label}, 720p, 3 inputs): ${steadyCores.toFixed(2)} cores = ${fmt(steady)}; windows ${steadyWindows.map((x) => total(x).toFixed(2)).join(' ')} (busiest ${steadyPeak.toFixed(2)}, ${(steadyPeak / steadyCores).toFixed(2)}× the mean)`];
  const event = async (name: string, change: () => void): Promise<void> => {
    const before = program.stats();
    noteOnAir();
    const since = tracker.sample();
    change();
    // Six windows for the event, six more (3–6 s after it) for the steady state of the scene it
    // left: a fourth person or a bigger tile costs more for as long as they stay, which is no peak.
    const all = await windows(12);
    const w = all.slice(0, 6);
    const settledCores = all.slice(6).reduce((sum, x) => sum + total(x), 0) / 6;
    const after = program.stats();
    const peak = w.reduce((a, b) => (total(b) > total(a) ? b : a));
    const at = w.indexOf(peak);
    // The new decoders' CPU from their start (start-up: linking, initialisation, the first keyframe).
    const born = tracker.pids().filter((pid) => isDecoder(pid) && (tracker.born.get(pid) ?? 0) >= since);
    const stills = tracker.pids().filter((pid) => (tracker.born.get(pid) ?? 0) >= since && tracker.commands.get(pid)?.includes('lavfi')).length;
    const first = born.map((pid) => {
      const b = tracker.born.get(pid)!;
      return `${[100, 250, 500, 1000].map((ms) => `${(tracker.at(pid, b + ms) * 1000).toFixed(0)}`).join('/')} ms`;
    });
    if (process.env.BENCH_DEBUG) {
      for (const pid of tracker.pids().filter((p) => (tracker.born.get(p) ?? 0) >= since)) lines.push(`  born +${((tracker.born.get(pid) ?? 0) - since).toFixed(0)} ms: ${pid} ${(tracker.at(pid, Infinity) * 1000).toFixed(0)} ms CPU: ${tracker.commands.get(pid)?.slice(0, 100)}`);
    }
    // The event's own CPU: 3 s of every component against as long in steady state (a starved window's
    // work comes back in the next, so this holds on a busy machine where the peak windows do not).
    const extra = (k: Component): number => w.reduce((sum, x) => sum + (x[k] - steady[k]) * 500, 0);
    const extraAll = COMPONENTS.reduce((sum, k) => sum + extra(k), 0);
    lines.push(
      `${name}: extra CPU over 3 s ${extraAll.toFixed(0)} ms (${COMPONENTS.map((k) => `${k} ${extra(k).toFixed(0)}`).join(', ')}); peak ${total(peak).toFixed(2)} cores (${(total(peak) / steadyCores).toFixed(2)}× steady before, ${(total(peak) / settledCores).toFixed(2)}× the ${settledCores.toFixed(2)} after, 3–6 s on, ${(total(peak) / steadyPeak).toFixed(2)}× steady's busiest window) in ${at * 500}–${at * 500 + 500} ms = ${fmt(peak, steady)}; windows ${w.map((x) => total(x).toFixed(2)).join(' ')}; ` +
        `decoder processes started ${born.length}${first.length > 0 ? ` (CPU used 100/250/500/1000 ms after their start: ${first.join(', ')})` : ''}, still processes started ${stills}; repeated frames ${after.repeatedFrames - before.repeatedFrames}, dropped ${after.droppedFrames - before.droppedFrames}, encoders started ${after.encoderStarts - before.encoderStarts}`,
    );
  };
  await event('join (3 → 4)', () => program.setScene(sceneInput(4), producers));
  await event('leave (4 → 3)', () => program.setScene(sceneInput(3), producers));
  await event('layout switch (grid → speaker)', () => program.setScene(sceneInput(3, 'speaker'), producers));
  await event('layout switch (speaker → grid)', () => program.setScene(sceneInput(3, 'grid'), producers));
  await program.close();
  tracker.stop();
  return lines;
}

if (part('events')) {
  const runs = Number(process.env.BENCH_EVENT_RUNS ?? 1);
  for (let run = 1; run <= runs; run += 1) {
    console.log(`\nevents, run ${run} of ${runs} (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}); cores per component, steady in brackets; mediasoup's worker is not in the total`);
    // The same events without spare decoders (each started when needed, as before) and with them.
    for (const line of await measureEvents('no spares', { spares: false })) console.log(line);
    for (const line of await measureEvents('spares', {})) console.log(line);
  }
}

const run = (args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(ffmpegPath, args, { maxBuffer: 512 * 1024 * 1024, encoding: 'latin1' }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr.slice(-500)}`)) : resolve(`${stdout}\n${stderr}`))),
  );

/**
 * Lip sync through the whole program: a sender whose picture flashes white while its sound beeps, at
 * the same instants (once a second), goes through mediasoup, its participant decoder, the program
 * and the encoder; the flash-to-beep offset is read back from the program's FLV, event by event.
 * Also: go live → the first video tag out of the encoder, and → the participant's first picture.
 */
async function measureLipSync(): Promise<string[]> {
  const sender = await startFlashBeepParticipant(router, ffmpegPath);
  const participant: SceneParticipant = { peerId: 'av', displayName: 'Flash and beep', camera: { producerId: sender.camera!.id, paused: false }, screen: null, mic: { producerId: sender.mic!.id, paused: false } };
  const avProducers = new Map(sender.producers.map(({ producer }) => [producer.id, producer]));
  const flv = join(tmpdir(), `onair-bench-av-${process.pid}.flv`);
  const t0 = performance.now();
  const program = Program.create({ id: 'bench-av', router, resolution: '720p', ffmpegPath, logger }, { participants: [participant], layout: 'grid', speakerId: null, title: null, lowerThird: null, slateText: '' }, avProducers);
  // BENCH_LIPSYNC_SECONDS=3600 measures the drift over an hour (the tags go straight to disk).
  const SECONDS = Number(process.env.BENCH_LIPSYNC_SECONDS ?? 40);
  const recorder = new FlvTagRecorder(program, SECONDS > 120 ? { file: flv } : {});
  // The program's own A/V measure, once a minute (long runs).
  const ownMeasure: Array<number | null> = [];
  const sampler = setInterval(() => ownMeasure.push(program.stats().decoders[0]?.avOffsetMs ?? null), 60_000);
  await sleep(SECONDS * 1000);
  clearInterval(sampler);
  const stats = program.stats();
  await program.close();
  await sender.close();
  recorder.write(flv);
  const sync = await readLipSync(flv, { ffmpegPath, skipMs: 3000 });
  rmSync(flv, { force: true });
  const offsets = sync.events.map((e) => e.offsetMs).sort((a, b) => a - b);
  const n = offsets.length;
  const decoder = stats.decoders[0];
  if (process.env.BENCH_DEBUG) console.log(sync.events.map((e) => `${(e.t / 1000).toFixed(1)}:${e.offsetMs.toFixed(0)}`).join(' '));
  const windows: string[] = [];
  if (SECONDS > 120) {
    // The offset's median per 5 minutes: drift shows as a trend across them.
    for (let from = 0; from < SECONDS * 1000; from += 300_000) {
      const w = sync.events.filter((e) => e.t >= from && e.t < from + 300_000).map((e) => e.offsetMs).sort((a, b) => a - b);
      if (w.length > 0) windows.push(`${from / 60_000}–${from / 60_000 + 5} min: ${w[Math.floor(w.length / 2)]!.toFixed(1)} ms (${w.length})`);
    }
  }
  return [
    ...(windows.length > 0 ? [`lip sync median per 5 minutes: ${windows.join(', ')}`, `the program's own measure, once a minute (ms): ${ownMeasure.map((x) => x ?? '–').join(' ')}`, `frames ${stats.frames}, repeated ${stats.repeatedFrames}, dropped ${stats.droppedFrames}, program drift ${stats.driftMs} ms`] : []),
    `lip sync (a flash and a beep at the same instants, ${n} events over ${SECONDS - 3} s, read back from the program's FLV; + = sound early): median ${sync.medianMs.toFixed(1)} ms, ${offsets.filter((d) => Math.abs(d) <= 40).length}/${n} within ±40 ms, range ${offsets[0]?.toFixed(1)} to ${offsets[n - 1]?.toFixed(1)} ms, drift ${sync.driftMsPerMin.toFixed(2)} ms/min; the program's own measure ${decoder?.avOffsetMs ?? '–'} ms, jitter buffer ${decoder?.bufferMs ?? '–'} ms`,
    `go live → first video tag out of the encoder: ${recorder.firstVideoAt === null ? '–' : Math.round(recorder.firstVideoAt - t0)} ms; → the participant's first picture decoded: ${decoder?.startupMs ?? '–'} ms after its RTP started`,
  ];
}

/**
 * Encoder study: the same uncompressed camera-like 2x2 720p program (6 s) encoded with candidate x264
 * settings at the 720p bitrate; CPU seconds (ffmpeg -benchmark) and PSNR against the uncompressed input.
 */
async function encoderStudy(): Promise<string[]> {
  const base = encoderArgs('720p');
  const candidates: Array<[string, string, string | null]> = [
    ['veryfast (plain)', 'veryfast', null],
    ['veryfast me=dia (today)', 'veryfast', 'me=dia'],
    ['veryfast me=dia, no p8x8 partitions', 'veryfast', 'me=dia:partitions=i8x8,i4x4'],
    ['veryfast me=dia, subme=1', 'veryfast', 'me=dia:subme=1'],
    ['superfast', 'superfast', null],
    ['ultrafast', 'ultrafast', null],
    ['ultrafast + CABAC, 8x8 transform, deblocking (High profile)', 'ultrafast', 'cabac=1:8x8dct=1:deblock=0,0'],
    ['ultrafast + 8x8 transform, deblocking (High profile, CAVLC; the vertical program\'s)', 'ultrafast', VERTICAL_X264_PARAMS],
  ];
  // The vertical program's content (BENCH_ONLY=encoder): four people stacked in two columns at 720x1280, each
  // tile the centred 9:16 cut of a 640x360 camera picture scaled up by nearest sample (SharedTile now also blends along rows).
  const contents: Array<[string, string, boolean]> = [
    ['heavy sensor noise', 'noise=alls=14:allf=t+u', false],
    ['light sensor noise', 'noise=alls=3:allf=t+u', false],
    ['vertical 720x1280, heavy noise', 'noise=alls=14:allf=t+u,crop=202:360,scale=360:640:flags=neighbor', true],
    ['vertical 720x1280, light noise', 'noise=alls=3:allf=t+u,crop=202:360,scale=360:640:flags=neighbor', true],
  ];
  const header = `| x264 settings (4000 kb/s CBR) | ${contents.map(([c]) => `${c}: CPU s for 6 s (vs today), PSNR dB (vs plain veryfast)`).join(' | ')} |`;
  const lines: string[] = [header, `|---|${contents.map(() => '---|').join('')}`];
  const results = new Map<string, Array<{ cpu: number; psnr: number }>>(candidates.map(([name]) => [name, []]));
  for (const [, noise, vertical] of contents) {
    const size = vertical ? '720x1280' : '1280x720';
    const raw = join(tmpdir(), `onair-bench-program-${process.pid}.yuv`);
    const cell = `testsrc2=size=640x360:rate=30,${noise}`;
    await run([
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', cell, '-f', 'lavfi', '-i', `${cell},hflip`, '-f', 'lavfi', '-i', `${cell},vflip`, '-f', 'lavfi', '-i', `${cell},negate`,
      '-filter_complex', '[0][1][2][3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0', '-t', '6', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', raw,
    ]);
    for (const [name, preset, params] of candidates) {
      const args: string[] = [];
      for (let i = 0; i < base.length; i += 1) {
        const a = base[i]!;
        if (a === '-preset') args.push(a, preset), (i += 1);
        else if (a === '-x264-params') {
          if (params) args.push(a, params);
          i += 1;
        } else if (a.startsWith('-c:a') || a.startsWith('-b:a') || a.startsWith('-profile:a') || a === '-ar' || a === '-ac') i += 1;
        else args.push(a);
      }
      const out = join(tmpdir(), `onair-bench-enc-${process.pid}.mp4`);
      const bench = await run(['-hide_banner', '-nostdin', '-benchmark', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', size, '-r', '30', '-i', raw, ...args, '-an', out]);
      const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(bench);
      const psnrOut = await run(['-hide_banner', '-nostdin', '-i', out, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', size, '-r', '30', '-i', raw, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-']);
      rmSync(out, { force: true });
      results.get(name)!.push({ cpu: m ? Number(m[1]) + Number(m[2]) : NaN, psnr: Number(/average:([\d.]+)/.exec(psnrOut)?.[1] ?? NaN) });
    }
    rmSync(raw, { force: true });
  }
  const plain = results.get(candidates[0]![0])!;
  const today = results.get(candidates[1]![0])!;
  const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  for (const [name, r] of results) {
    lines.push(`| ${name} | ${r.map((x, i) => `${x.cpu.toFixed(2)} (${(x.cpu / today[i]!.cpu).toFixed(2)}×), ${x.psnr.toFixed(2)} (${sign(x.psnr - plain[i]!.psnr)})`).join(' | ')} |`);
  }
  const cheapest = (vertical: boolean): string => {
    const kept = contents.flatMap(([, , v], i) => (v === vertical ? [i] : []));
    const ok = [...results].filter(([, r]) => kept.every((i) => r[i]!.psnr >= plain[i]!.psnr - 0.3)).sort((a, b) => a[1][kept[0]!]!.cpu - b[1][kept[0]!]!.cpu)[0];
    return ok?.[0] ?? 'none';
  };
  lines.push(`cheapest within 0.3 dB of plain veryfast on every 16:9 content: ${cheapest(false)}`);
  lines.push(`cheapest within 0.3 dB of plain veryfast on every vertical content: ${cheapest(true)}`);
  return lines;
}

const extra: string[] = [];
if (part('lipsync')) try {
  extra.push(...(await measureLipSync()));
} catch (error) {
  extra.push(`lip sync: FAILED (${error instanceof Error ? error.message : String(error)})`);
}
console.log(extra.join('\n'));
if (part('encoder')) {
  try {
    const study = await encoderStudy();
    console.log(`\n${study.join('\n')}`);
  } catch (error) {
    console.log(`encoder study: FAILED (${error instanceof Error ? error.message : String(error)})`);
  }
}

// The preview's and the vertical program's rows (bench/outputs.ts).
const outputRows = part('outputs')
  ? await benchOutputs({ router, producers, sceneInput, ffmpegPath, logger, warmupMs: WARMUP_MS, measureMs: MEASURE_MS }, Number(process.env.BENCH_OUTPUTS_INPUTS ?? 4), process.env.BENCH_VERTICAL_PRESET ?? null).catch((error: unknown) => [`outputs bench failed: ${String(error)}`])
  : [];
console.log(`\n${rows.join('\n')}`);
if (outputRows.length > 0) console.log(`\n${outputRows.join('\n')}`);
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const s of senders) await s.close();
worker.close();
