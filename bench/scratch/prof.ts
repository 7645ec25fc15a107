// Profiling harness (not a benchmark): the Program alone at N=4 simulcast inputs for SECS=15 s; prints Node's cores; PROFILE=out.cpuprofile profiles that window; VERTICAL=1 adds the vertical program (720x1280, automatic layout); EVENT=speaker switches grid → speaker as the window starts (give it SECS=1 for the event's first second).
// node --import tsx bench/scratch/prof.ts
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import { Program } from '../../server/src/compositor/Program.js';
import type { SceneParticipant } from '../../server/src/compositor/scene.js';
import { startRtpParticipant, TEST_MEDIA_CODECS } from '../../e2e/fixtures/rtpParticipant.js';
const n = Number(process.env.N ?? 4);
const secs = Number(process.env.SECS ?? 15);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
const senders = [];
for (let i = 0; i < Math.min(n, 9); i++) senders.push(await startRtpParticipant({ router, peerId: `s${i}`, size: '1280x720', simulcast: true, noise: true, frequency: 300 + 200 * (i % 3), ffmpegPath: 'ffmpeg' }));
await sleep(6000);
const producers = new Map<string, mediasoup.types.Producer>();
for (const s of senders) for (const { producer } of s.producers) producers.set(producer.id, producer);
const participants: SceneParticipant[] = senders.map((s, i) => ({ peerId: `p${i}`, displayName: `Person ${i + 1}`, camera: { producerId: s.camera!.id, paused: false }, screen: null, mic: { producerId: s.mic!.id, paused: false } }));
const program = Program.create({ id: 'prof', router, resolution: '720p', ffmpegPath: 'ffmpeg', logger: pino({ level: 'silent' }) }, { participants, layout: 'grid', speakerId: 'p0', title: null, lowerThird: null, slateText: 'x' }, producers);
program.on('tag', () => undefined);
if (process.env.VERTICAL) program.setVertical({ layout: 'auto', resolution: '720p' });
await sleep(3000);
// PROFILE=file.cpuprofile: a CPU profile of the measured window only.
const { Session } = await import('node:inspector/promises');
const session = process.env.PROFILE ? new Session() : null;
session?.connect();
await session?.post('Profiler.enable');
await session?.post('Profiler.start');
const c0 = process.cpuUsage(); const t0 = performance.now();
if (process.env.EVENT === 'speaker') program.setScene({ participants, layout: 'speaker', speakerId: 'p0', title: null, lowerThird: null, slateText: 'x' }, producers);
await sleep(secs * 1000);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
}
const c = process.cpuUsage(c0); const wall = (performance.now() - t0) / 1000;
const st = program.stats();
console.log(`node ${((c.user + c.system) / 1e6 / wall).toFixed(3)} cores (user ${(c.user / 1e6 / wall).toFixed(3)}, sys ${(c.system / 1e6 / wall).toFixed(3)}); draw ms/frame ${st.drawMsPerFrame}; repeated ${st.repeatedFrames}; dropped ${st.droppedFrames}; decoders ${st.decoders.map((d) => `${d.width}x${d.height}`).join(',')}`);
await program.close();
for (const s of senders) await s.close();
worker.close();
