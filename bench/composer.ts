/**
 * Composer benchmark (prints figures; not a test). Run from the repo root:
 *   node --import tsx bench/composer.ts            # all scenarios (~2 min)
 *   node --import tsx bench/composer.ts quick      # 720p with 2 and 4 inputs only
 * Scenarios: composer CPU and speed at 720p30/1080p30 with 2, 4 and 9 inputs; Go live → first
 * publish at the RTMP server; switch gap on a membership change; RTP-in → first FLV tag out;
 * A/V start offset in the output.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import type { Resolution } from '@onair/shared';
import { Broadcast, type BroadcastParticipant } from '../server/src/broadcast/Broadcast.js';
import { resolveFfmpegPath } from '../server/src/media/ffmpegPath.js';
import { startRtmpServer } from '../e2e/fixtures/rtmpServer.js';
import { startRtpParticipant, TEST_MEDIA_CODECS, type RtpParticipant } from '../e2e/fixtures/rtpParticipant.js';
import { probeStream } from '../e2e/fixtures/ffprobe.js';
import { resolvePublishTarget } from '../server/src/destinations/PublishTarget.js';

const CLOCK_TICKS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

async function waitFor(fn: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const logger = pino({ level: 'silent' });
const ffmpegPath = resolveFfmpegPath();
const quick = process.argv.includes('quick');
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
const server = await startRtmpServer();
const dir = mkdtempSync(join(tmpdir(), 'onair-bench-'));

// Three real senders (640x360 VP8 + Opus); more "participants" reuse their producers through
// separate consumers, so 9 inputs cost 9 decodes in the composer without 9 encoders here.
const senders: RtpParticipant[] = [];
for (let i = 0; i < 3; i += 1) {
  senders.push(await startRtpParticipant({ router, peerId: `s${i}`, size: '640x360', frequency: 300 + 200 * i, ffmpegPath }));
}
const participantsFor = (n: number): BroadcastParticipant[] =>
  Array.from({ length: n }, (_, i) => {
    const s = senders[i % senders.length]!;
    return { peerId: `p${i}`, displayName: `Person ${i + 1}`, producers: s.producers };
  });

const rows: string[] = [];
let keySeq = 0;

async function scenario(resolution: Resolution, inputs: number, extra: boolean): Promise<void> {
  const participants = participantsFor(inputs);
  const key = `bench-${++keySeq}`;
  const started = Date.now();
  const broadcast = await Broadcast.create({
    id: key, roomId: 'bench', router, getParticipants: () => participants, getActiveSpeakerId: () => null,
    destinations: [resolvePublishTarget({ id: 'd', name: 'nginx', platform: 'custom', serverUrl: server.rtmpUrl('live'), streamKey: key })],
    resolution, title: 'Benchmark', recordPath: extra ? join(dir, `${key}.flv`) : null, ffmpegPath, logger,
  });
  const createdMs = Date.now() - started;
  await waitFor(() => server.publishCount(key) > 0, 20_000);
  const firstPublishMs = (server.publishes.find((p) => p.name === key)?.at ?? NaN) - started;
  await sleep(2000);
  const pid = broadcast.stats().activeComposerPid;
  const cpu0 = pid ? cpuSeconds(pid) : null;
  const ts0 = broadcast.stats().relay.lastTimestamp ?? 0;
  const t0 = performance.now();
  await sleep(8000);
  const cpu1 = pid ? cpuSeconds(pid) : null;
  const ts1 = broadcast.stats().relay.lastTimestamp ?? 0;
  const wall = (performance.now() - t0) / 1000;
  const cores = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / wall : NaN;
  const speed = (ts1 - ts0) / 1000 / wall;
  const status = broadcast.status();
  const d = status.destinations[0];
  const startup = broadcast.stats().composerStartupMs;
  let line = `${resolution} ${inputs} participants (${inputs} video + ${inputs} audio RTP inputs): composer ${cores.toFixed(2)} cores, speed ${speed.toFixed(2)}x, composer fps ${status.composer.fps}, ` +
    `destination ${d?.state} ${d?.bitrateKbps} kb/s ${d?.fps} fps; Go live → create() ${createdMs} ms, → first publish at nginx ${firstPublishMs} ms; ` +
    `RTP resumed → first FLV video tag ${startup?.toFixed(0)} ms (includes probing + waiting for keyframes)`;
  if (extra) {
    // Membership change: one more participant (camera + mic) joins, then leaves.
    const late = await startRtpParticipant({ router, peerId: 'late', size: '640x360', frequency: 900, ffmpegPath });
    const switches = broadcast.stats().switches;
    participants.push({ peerId: 'late', displayName: 'Late joiner', producers: late.producers });
    const t = performance.now();
    broadcast.refresh();
    await waitFor(() => broadcast.stats().switches > switches, 20_000);
    const s = broadcast.stats();
    line += `\n    join while live: refresh() → switch ${(performance.now() - t).toFixed(0)} ms (incl. 300 ms debounce), ` +
      `picture gap at switch ${s.lastSwitchGapMs?.toFixed(0)} ms wall-clock, ${s.lastSwitchTimestampGapMs} ms in timestamps, publishes at nginx ${server.publishCount(key)}`;
    await sleep(3000);
    // Leaving stops inputs the live composer waits for: its picture freezes until the next one switches in.
    const beforeLeave = broadcast.stats().switches;
    participants.pop();
    const tl = performance.now();
    await late.close();
    await waitFor(() => broadcast.stats().switches > beforeLeave, 20_000);
    const l = broadcast.stats();
    line += `\n    leave while live: producers closed → switch ${(performance.now() - tl).toFixed(0)} ms, ` +
      `picture gap at switch ${l.lastSwitchGapMs?.toFixed(0)} ms wall-clock, publishes at nginx ${server.publishCount(key)}`;
    await sleep(2000);
  }
  await broadcast.close();
  if (extra) {
    const probe = await probeStream(join(dir, `${key}.flv`), 60);
    const offset = probe.video?.startTime != null && probe.audio?.startTime != null ? (probe.audio.startTime - probe.video.startTime) * 1000 : NaN;
    line += `\n    recording: ${probe.video?.codec} ${probe.video?.width}x${probe.video?.height} ${probe.video?.fps.toFixed(1)} fps GOP ${probe.video?.keyframeInterval}s, ` +
      `${probe.audio?.codec} ${probe.audio?.sampleRate} Hz; A/V start offset (audio − video first pts) ${offset.toFixed(0)} ms`;
  }
  rows.push(line);
  console.log(line);
}

console.log(`cores on this machine: ${(await import('node:os')).cpus().length}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const plan: Array<[Resolution, number, boolean]> = quick
  ? [['720p', 2, true], ['720p', 4, false]]
  : [['720p', 2, true], ['720p', 4, false], ['720p', 9, false], ['1080p', 2, false], ['1080p', 4, false], ['1080p', 9, false]];
for (const [resolution, inputs, extra] of plan) {
  await scenario(resolution, inputs, extra).catch((error: unknown) => console.log(`${resolution} ${inputs} participants: FAILED (${error instanceof Error ? error.message : String(error)})`));
}

for (const s of senders) await s.close();
await server.stop();
worker.close();
rmSync(dir, { recursive: true, force: true });
