// Scratch reproduction of issue 9 with a real Program (not a benchmark): two ffmpeg simulcast senders, the
// guest's camera shows its frame number; grid -> speaker (guest big: a new decoder) -> grid (a downsize
// 8-14 s later), ROUNDS times. It prints the decoders' stats at the end; the per-tick figures of the
// handover study (the counter on air, each decoder's newest picture, playout offset, UDP rx_queue)
// came from a temporary probe in Source.prepare/#promote (see the commit message), not kept.
// It records the program and prints the counter's steps back and leads and freezedetect's freezes.
// node --import tsx bench/scratch/handover-program.ts
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { Program } from '../../server/src/compositor/Program.js';
import type { SceneParticipant } from '../../server/src/compositor/scene.js';
import { resolveFfmpegPath } from '../../server/src/media/ffmpegPath.js';
import { counterCameraFile, counterSteps, readRecording } from '../../e2e/fixtures/frameCounter.js';
import { createWriteStream } from 'node:fs';
import { FlvRelay } from '../../server/src/flv/FlvRelay.js';
import { startRtpParticipant, TEST_MEDIA_CODECS } from '../../e2e/fixtures/rtpParticipant.js';

const ffmpegPath = resolveFfmpegPath();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
const host = await startRtpParticipant({ router, peerId: 'host', size: '1280x720', simulcast: true, ffmpegPath });
const guest = await startRtpParticipant({ router, peerId: 'guest', clip: await counterClip(), simulcast: true, ffmpegPath });
await sleep(1500);
const producers = new Map<string, mediasoup.types.Producer>();
for (const s of [host, guest]) for (const { producer } of s.producers) producers.set(producer.id, producer);
const participants: SceneParticipant[] = [host, guest].map((s) => ({ peerId: s.peerId, displayName: s.peerId, camera: { producerId: s.camera!.id, paused: false }, screen: null, mic: { producerId: s.mic!.id, paused: false } }));
let layout: 'grid' | 'speaker' = 'grid';
const input = () => ({ participants, layout, speakerId: 'guest', title: null, lowerThird: null, slateText: 'x' });
// The program is recorded (OUT, default /tmp/handover.flv) and read back as the compositor e2e does:
// the guest's counter (steps back, leads) and freezedetect; the server's log at debug to OUT.log.
const out = process.env.OUT ?? '/tmp/handover.flv';
const relay = new FlvRelay();
const file = createWriteStream(out);
relay.addSink({ id: 'file', write: (chunk) => file.write(chunk) });
const logger = pino({ level: 'debug' }, pino.destination(`${out}.log`));
const program = Program.create({ id: 'ho', router, resolution: '720p', ffmpegPath, logger }, input(), producers);
program.on('encoder', (id) => relay.expect(id));
program.on('tag', (id, tag) => relay.push(id, tag));
relay.expect(program.stats().encoderId!);
const rounds = Number(process.env.ROUNDS ?? 3);
await sleep(6000);
for (let i = 0; i < rounds; i += 1) {
  layout = 'speaker';
  program.setScene(input(), producers);
  await sleep(5000);
  layout = 'grid';
  program.setScene(input(), producers);
  await sleep(Number(process.env.GRID_SECS ?? 16) * 1000);
}
console.log(JSON.stringify(program.stats().decoders.map((d) => ({ key: d.key, w: d.width, buf: d.bufferMs, av: d.avOffsetMs }))), 'dropped', program.stats().droppedFrames, 'repeated', program.stats().repeatedFrames);
await program.close();
await new Promise((r) => file.end(r));
const rec = await readRecording(ffmpegPath, out, 'freezedetect=n=0.003:d=0.3');
const steps = counterSteps(rec.readings, 3, 0);
const freezes = [...rec.log.matchAll(/freeze_start: ([\d.]+)[\s\S]*?freeze_duration: ([\d.]+)/g)].map((m) => `${Number(m[1]).toFixed(2)}+${m[2]}`);
console.log(JSON.stringify({ frames: rec.frames, readings: steps.readings, worstBack: steps.worstBack, worstLead: steps.worstLead, backwards: steps.backwards.map((b) => `${b.frame}:${b.step}`), jumps: steps.jumps.map((j) => `${j.frame}:+${j.lead}`), freezes }));
await host.close();
await guest.close();
worker.close();
