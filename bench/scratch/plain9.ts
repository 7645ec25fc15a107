// Reproduction harness (not a benchmark): N=9 simulcast senders and the plain ffmpeg xstack composer's
// inputs alone (PlainTransports + consumers on each camera's top layer, one SDP per m-line), then its
// command line run by hand so its stderr can be read: node --import tsx bench/scratch/plain9.ts
// N inputs (default 9), SECS (default 15), MICS=0 leaves the microphones out, ONE_SDP=1 the earlier
// single-SDP baseline, ARGS_IN: extra options (space-separated) before every input, LOG=<file> for stderr.
import { spawn } from 'node:child_process';
import { writeFileSync, createWriteStream } from 'node:fs';
import { loadavg } from 'node:os';
import * as mediasoup from 'mediasoup';
import { startRtpParticipant, TEST_MEDIA_CODECS } from '../../e2e/fixtures/rtpParticipant.js';
import { buildSdp, type SdpMedia } from '../../server/src/media/sdp.js';
import { buildComposerArgs, buildFilterGraph } from '../baseline/xstackArgs.js';
import { planComposition } from '../baseline/plan.js';
import { reservePortPair } from '../../server/src/media/ports.js';
import { cpuSecondsOf } from '../proc.js';

const n = Number(process.env.N ?? 9);
const secs = Number(process.env.SECS ?? 15);
const mics = process.env.MICS !== '0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
const senders = [];
for (let i = 0; i < n; i++) senders.push(await startRtpParticipant({ router, peerId: `s${i}`, size: '1280x720', simulcast: true, noise: true, frequency: 300 + 200 * (i % 3), ffmpegPath: 'ffmpeg' }));
await sleep(6000);
const caps: mediasoup.types.RtpCapabilities = {
  codecs: (router.rtpCapabilities.codecs ?? []).filter((c) => ['audio/opus', 'video/vp8'].includes(c.mimeType.toLowerCase())).map((c) => ({ ...c, rtcpFeedback: [] })),
  headerExtensions: [],
};
const media: SdpMedia[] = [];
const consumers: mediasoup.types.Consumer[] = [];
const producers = new Map<string, mediasoup.types.Producer>();
for (const s of senders) for (const { producer } of s.producers) producers.set(producer.id, producer);
const participants = senders.map((s, i) => ({ peerId: `p${i}`, displayName: `P${i}`, camera: s.camera!.id, screen: null, mic: mics ? s.mic!.id : null }));
const composition = planComposition({ participants, layout: 'grid', speakerId: null, resolution: '720p', title: null, lowerThird: null, slateText: '' });
for (const input of composition.inputs) {
  const producer = producers.get(input.producerId)!;
  const port = await reservePortPair();
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
  await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
  const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
  if (consumer.type === 'simulcast') await consumer.setPreferredLayers({ spatialLayer: Number(process.env.LAYER ?? 2), temporalLayer: 2 });
  consumers.push(consumer);
  const codec = consumer.rtpParameters.codecs[0]!;
  media.push({ kind: input.kind, port, payloadType: codec.payloadType, mimeType: codec.mimeType, clockRate: codec.clockRate, channels: codec.channels });
}
const dir = '/tmp/plain9';
(await import('node:fs')).mkdirSync(dir, { recursive: true });
const sdpPaths = media.map((m, k) => { writeFileSync(`${dir}/in${k}.sdp`, buildSdp([m])); return `${dir}/in${k}.sdp`; });
const graph = buildFilterGraph(composition, { fontFile: null, textDir: dir });
let args = buildComposerArgs({ sdpPaths, filterGraph: graph.graph, resolution: '720p' });
// ONE_SDP=1: the earlier baseline, every m-line in one SDP (one input, read on ffmpeg's main thread).
if (process.env.ONE_SDP === '1') {
  writeFileSync(`${dir}/inputs.sdp`, buildSdp(media));
  args = buildComposerArgs({ sdpPaths: [`${dir}/inputs.sdp`], filterGraph: graph.graph.replace(/\[(\d+):0\]/g, (_, k: string) => `[0:${k}]`), resolution: '720p' });
  args.splice(args.indexOf('-thread_queue_size'), 2);
  args.splice(args.indexOf('-analyzeduration'), 4, '-analyzeduration', '1000000', '-probesize', '20000000');
}
// ARGS_IN: extra options before every input's -f sdp.
if (process.env.ARGS_IN) args = args.flatMap((a, k) => (a === '-f' && args[k + 1] === 'sdp' ? [...process.env.ARGS_IN!.split(' '), a] : [a]));
args = args.map((a) => (a === '-nostats' ? '-stats' : a === 'pipe:1' ? '/dev/null' : a));
args.splice(args.indexOf('-stats') + 1, 0, '-stats_period', '1', '-y');
console.log(args.join(' '));
const log = createWriteStream(process.env.LOG ?? `${dir}/ffmpeg.log`);
const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
child.stderr.pipe(log);
let last = '';
child.stderr.on('data', (d: Buffer) => { const m = /frame=\s*(\d+).*?fps=\s*([\d.]+)/.exec(d.toString()); if (m) last = `${m[1]} frames`; });
await sleep(Number(process.env.RESUME_MS ?? 300));
await Promise.all(consumers.map((c) => c.resume()));
const kf = setInterval(() => { for (const c of consumers) if (c.kind === 'video') c.requestKeyFrame().catch(() => undefined); }, 500);
while (!last) await sleep(100);
console.log(`first frame ${last}`);
await sleep(3000);
clearInterval(kf);
const c0 = cpuSecondsOf(child.pid); const t0 = performance.now(); const f0 = Number(last.split(' ')[0] ?? 0);
for (let s = 0; s < secs; s += 5) { await sleep(5000); console.log(`t+${s + 5}s: ${last}`); }
const wall = (performance.now() - t0) / 1000;
const f1 = Number(last.split(' ')[0] ?? 0);
const cpu = cpuSecondsOf(child.pid) - c0;
console.log(`plain ffmpeg: ${(cpu / wall).toFixed(2)} cores, ${((f1 - f0) / wall).toFixed(1)} fps, ${f1 > f0 ? ((cpu / (f1 - f0)) * 30).toFixed(2) : '–'} cores per picture × 30; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
child.kill('SIGKILL');
// Upstream loss: what mediasoup saw missing from the senders (it relays gaps as they are).
const lost = await Promise.all(senders.map(async (s) => (await s.camera!.getStats()).map((st) => `${st.rid ?? st.ssrc}:${st.packetsLost}/${st.packetCount}`).join(' ')));
console.log(`senders' camera streams (lost/received): ${lost.join(' | ')}`);
for (const s of senders) await s.close();
worker.close();
process.exit(0);
