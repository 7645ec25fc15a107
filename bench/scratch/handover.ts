// Scratch reproduction of issue 9 (not a benchmark): one simulcast sender whose picture shows its own
// frame number (the e2e's counter camera), decoder A running, then decoder B started as at a handover.
// Prints, per decoder and second: the counter of the newest picture in Node and of the one the
// playout would show, the playout offset/buffer, transit, and the UDP rx_queue of its ffmpeg.
// node --import tsx bench/scratch/handover.ts   (SWITCH=1: A switches to layer 0 before B starts)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { ParticipantDecoder } from '../../server/src/compositor/ParticipantDecoder.js';
import type { Picture } from '../../server/src/compositor/picture.js';
import { resolveFfmpegPath } from '../../server/src/media/ffmpegPath.js';
import { counterCameraFile } from '../../e2e/fixtures/frameCounter.js';
import { startRtpParticipant, TEST_MEDIA_CODECS } from '../../e2e/fixtures/rtpParticipant.js';

const ffmpegPath = resolveFfmpegPath();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = pino({ level: process.env.LOG ?? 'silent' });

/** The counter camera as a 3-layer VP8 simulcast + Opus clip (as the client sends a camera). */
async function counterClip(): Promise<string> {
  const y4m = await counterCameraFile(ffmpegPath);
  const out = join(tmpdir(), 'onair-fixture-clips', 'counter-simulcast.webm');
  if (existsSync(out)) return out;
  execFileSync(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', y4m, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-filter_complex', '[0:v]split=3[q][h][l2];[q]scale=320:180[l0];[h]scale=640:360[l1]',
    '-map', '[l0]', '-map', '[l1]', '-map', '[l2]', '-map', '1:a', '-t', '8',
    '-c:v', 'libvpx', '-b:v:0', '150k', '-b:v:1', '500k', '-b:v:2', '1500k', '-deadline', 'realtime', '-cpu-used', '8', '-g', '60', '-auto-alt-ref', '0', '-max-intra-rate', '900',
    '-c:a', 'libopus', '-ac', '2', '-b:a', '64k', out,
  ]);
  return out;
}

/** The frame number drawn in the middle band (see frameCounter.ts), or -1. */
function counter(p: Picture): number {
  const y = Math.floor(p.height / 2);
  let n = 0;
  const bit = (i: number) => (p.data[y * p.width + Math.floor(((i + 0.5) * p.width) / 16)] ?? 0) > 128;
  if (!bit(0) || bit(1) || !bit(15)) return -1;
  for (let k = 0; k < 8; k += 1) if (bit(2 + k)) n |= 1 << k;
  return n;
}

function rxQueue(pid: number | undefined): string {
  if (!pid) return '-';
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    }
  } catch {
    return '-';
  }
  const out: string[] = [];
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 10 && inodes.has(f[9]!)) out.push(`${parseInt(f[1]!.split(':')[1]!, 16)}:${parseInt(f[4]!.split(':')[1]!, 16)}${f[12] && f[12] !== '0' ? `(drops ${f[12]})` : ''}`);
  }
  return out.join(' ');
}

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
const sender = await startRtpParticipant({ router, peerId: 'guest', clip: await counterClip(), simulcast: true, ffmpegPath });
await sleep(1500);
const t0 = performance.now();
const now = () => performance.now();

interface Probe { name: string; d: ParticipantDecoder; arrivals: Array<[number, number]>; newest: number; shownCounter: number }
const probes: Probe[] = [];
async function start(name: string, width: number, height: number, layer: number): Promise<Probe> {
  const d = await ParticipantDecoder.create({ id: name, router, video: { producer: sender.camera!, width, height, layer, fit: 'fill' }, audio: sender.mic, ffmpegPath, logger }, now);
  const p: Probe = { name, d, arrivals: [], newest: -1, shownCounter: -1 };
  d.on('frame', () => {
    const q = d.pictureFor(null);
    if (q) p.newest = counter(q.picture);
  });
  d.on('pcm', () => undefined);
  probes.push(p);
  return p;
}

// The program's tick: what each decoder would show now (as Source.prepare picks it).
const tick = setInterval(() => {
  for (const p of probes) {
    const target = p.d.playout.mediaTimeAt(now());
    const q = p.d.pictureFor(target === null ? null : target + 500 / 30);
    if (q) p.shownCounter = counter(q.picture);
  }
}, 1000 / 30);
const report = setInterval(() => {
  const t = ((now() - t0) / 1000).toFixed(1);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  const parts = probes.map((p) => `${p.name}: newest ${p.newest} shown ${p.shownCounter} off ${p.d.playout.offsetMs?.toFixed(0)} buf ${p.d.playout.bufferMs?.toFixed(0)} pics ${p.d.pictures} rx ${rxQueue(p.d.pid)}`);
  const [a, b] = probes;
  const lead = a && b && a.newest >= 0 && b.newest >= 0 ? ` | B-A newest ${(b.newest - a.newest + 240 * 4) % 240} shown ${(b.shownCounter - a.shownCounter + 240 * 4) % 240}` : '';
  console.log(`t=${t} load=${load} ${parts.join(' || ')}${lead}`);
}, 1000);

const a = await start('A', 640, 360, 2);
await sleep(Number(process.env.A_SECS ?? 8) * 1000);
if (process.env.SWITCH) {
  await a.d.setLayer(0);
  await sleep(5000);
}
await start('B', 640, 360, 2);
await sleep(Number(process.env.B_SECS ?? 8) * 1000);
clearInterval(tick);
clearInterval(report);
for (const p of probes) await p.d.close();
await sender.close();
worker.close();
