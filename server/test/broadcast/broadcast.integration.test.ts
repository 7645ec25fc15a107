import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mediasoup from 'mediasoup';
import { pino } from 'pino';
import type { BroadcastStatus, DestinationStatus } from '@onair/shared';
import { Broadcast } from '../../src/broadcast/Broadcast.js';
import { rtmpPusherFactory } from '../../src/destinations/Pusher.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { startRtpParticipant, TEST_MEDIA_CODECS, type RtpParticipant } from '../../../e2e/fixtures/rtpParticipant.js';
import { probeStream } from '../../../e2e/fixtures/ffprobe.js';
import { resolvePublishTarget } from '../../src/destinations/PublishTarget.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });

async function waitFor<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Broadcast on real parts (mediasoup, ffmpeg, nginx-rtmp)', { timeout: 180_000 }, () => {
  let worker: mediasoup.types.Worker;
  let router: mediasoup.types.Router;
  let server: RtmpServer;
  let broadcast: Broadcast;
  let recordDir: string;
  const participants: RtpParticipant[] = [];
  const ffmpegPath = resolveFfmpegPath();
  const statuses: BroadcastStatus[] = [];
  const destination = (id: string): DestinationStatus | undefined => broadcast.status().destinations.find((d) => d.destinationId === id);

  before(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
    server = await startRtmpServer();
    server.rejectKeys.add('refused-key-0000');
    recordDir = mkdtempSync(join(tmpdir(), 'onair-recording-'));
    participants.push(await startRtpParticipant({ router, peerId: 'alice', displayName: 'Alice' }));
    participants.push(await startRtpParticipant({ router, peerId: 'bob', displayName: 'Bob', frequency: 660 }));
  });

  after(async () => {
    await broadcast?.close();
    for (const p of participants) await p.close();
    await server?.stop();
    worker?.close();
    rmSync(recordDir, { recursive: true, force: true });
  });

  it('Go live: an rtmp:// and an rtmps:// destination both receive H.264 1280x720 ~30 fps, keyframes every 2 s, AAC 48 kHz stereo', async () => {
    broadcast = await Broadcast.create({
      id: 'b1',
      roomId: 'room1',
      router,
      getParticipants: () => participants,
      getActiveSpeakerId: () => null,
      destinations: [
        resolvePublishTarget({ id: 'plain', name: 'RTMP', platform: 'custom', serverUrl: server.rtmpUrl('live'), streamKey: 'plain-key-1111' }),
        resolvePublishTarget({ id: 'tls', name: 'RTMPS', platform: 'youtube_rtmps', serverUrl: server.rtmpsUrl('live'), streamKey: 'tls-key-2222' }),
        resolvePublishTarget({ id: 'refused', name: 'Refused', platform: 'custom', serverUrl: server.rtmpUrl('live'), streamKey: 'refused-key-0000' }),
      ],
      title: 'OnAir test',
      recordPath: join(recordDir, 'show.flv'),
      ffmpegPath,
      logger,
      destinationRetry: { maxPermanentFailures: 2, baseDelayMs: 500 },
      // The RTMPS front's certificate is from the fixture's test CA: verified, with that CA trusted.
      createPusher: rtmpPusherFactory({ logger, extraCa: [server.caPem] }),
    });
    broadcast.on('status', (s) => statuses.push(s));
    await waitFor('both destinations live', () => destination('plain')?.state === 'live' && destination('tls')?.state === 'live');
    assert.equal(broadcast.status().state, 'live');
    const [plain, tls] = await Promise.all([
      probeStream(`${server.rtmpUrl('live')}/plain-key-1111`, 5),
      probeStream(`${server.rtmpUrl('live')}/tls-key-2222`, 5),
    ]);
    for (const probe of [plain, tls]) {
      assert.ok(probe.video && probe.audio, JSON.stringify(probe));
      assert.equal(probe.video.codec, 'h264');
      assert.equal(probe.video.profile, 'High');
      assert.equal(probe.video.width, 1280);
      assert.equal(probe.video.height, 720);
      assert.ok(Math.abs(probe.video.fps - 30) < 2, `fps ${probe.video.fps}`);
      assert.ok(probe.video.keyframeInterval !== null && Math.abs(probe.video.keyframeInterval - 2) < 0.1, `GOP ${probe.video.keyframeInterval}`);
      assert.equal(probe.audio.codec, 'aac');
      assert.equal(probe.audio.sampleRate, 48000);
      assert.equal(probe.audio.channels, 2);
    }
    assert.equal(server.publishCount('plain-key-1111'), 1);
    assert.equal(server.publishCount('tls-key-2222'), 1);
    const live = destination('plain');
    assert.ok(live && live.bitrateKbps > 1000 && live.fps > 20, JSON.stringify(live));
    assert.equal(destination('tls')?.maskedUrl, `${server.rtmpsUrl('live')}/••••2222`);
  });

  it('a refused stream key shows a plain-word error on that destination only', async () => {
    const refused = await waitFor('refused destination to report', () => {
      const d = destination('refused');
      return d && d.lastError ? d : null;
    });
    assert.match(refused.lastError ?? '', /refused the stream key/);
    assert.ok(['retrying', 'failed', 'connecting'].includes(refused.state));
    assert.ok(!JSON.stringify(broadcast.status()).includes('refused-key-0000'), 'the key never shows in the status');
    assert.equal(destination('plain')?.state, 'live');
    assert.equal(destination('tls')?.state, 'live');
    await waitFor('refused destination to give up', () => destination('refused')?.state === 'failed', 15_000);
  });

  it('a participant joining while live changes the picture with the same encoder, without a new publish', async () => {
    const before = broadcast.stats();
    participants.push(await startRtpParticipant({ router, peerId: 'carol', displayName: 'Carol', video: false, frequency: 880 }));
    broadcast.refresh();
    await waitFor('the program to show three tiles', () => broadcast.stats().program.sceneVersion > before.program.sceneVersion);
    await waitFor('a decoder for every on-stage participant (camera and microphone together)', () => broadcast.stats().program.decoders.length === 3);
    assert.equal(broadcast.stats().program.decoders.flatMap((d) => d.producerIds).length, 5, 'every on-stage producer is decoded');
    const stats = broadcast.stats();
    assert.equal(stats.switches, before.switches, 'no encoder switch for a change in the room');
    assert.equal(stats.composerStarts, 1, 'one encoder since Go live');
    assert.equal(stats.activeComposerPid, before.activeComposerPid);
    const probe = await probeStream(`${server.rtmpUrl('live')}/plain-key-1111`, 3);
    assert.equal(probe.video?.width, 1280);
    assert.equal(server.publishCount('plain-key-1111'), 1, 'no new publish at the RTMP destination');
    assert.equal(server.publishCount('tls-key-2222'), 1, 'no new publish at the RTMPS destination');
    assert.equal(destination('plain')?.state, 'live');
  });

  it('everyone leaving puts the "We\'ll be right back" slate on air within 1 s, the destinations stay connected, and the program returns', async () => {
    const away = participants.splice(0, participants.length);
    const left = performance.now();
    broadcast.refresh();
    await waitFor('the slate', () => broadcast.stats().program.slate === "We'll be right back", 1000);
    assert.ok(performance.now() - left < 1000);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(destination('plain')?.state, 'live');
    assert.equal(server.publishCount('plain-key-1111'), 1, 'no new publish while the slate is on air');
    participants.push(...away);
    broadcast.refresh();
    await waitFor('the program back', () => broadcast.stats().program.slate === null, 1000);
    assert.equal(broadcast.stats().composerStarts, 1);
  });

  it('cutting the RTMPS endpoint: it retries while RTMP keeps receiving, and it goes live again when the endpoint returns', async () => {
    await server.cutRtmps();
    await waitFor('RTMPS destination to retry', () => destination('tls')?.state === 'retrying', 15_000);
    assert.ok(destination('tls')?.lastError);
    const probe = await probeStream(`${server.rtmpUrl('live')}/plain-key-1111`, 2);
    assert.ok(probe.video && probe.video.fps > 20, 'RTMP still receives');
    assert.equal(destination('plain')?.state, 'live');
    await server.restoreRtmps();
    await waitFor('RTMPS destination live again', () => destination('tls')?.state === 'live', 30_000);
    assert.ok((destination('tls')?.retries ?? 0) >= 1);
    assert.equal(server.publishCount('plain-key-1111'), 1, 'the RTMP destination was never reconnected');
  });

  it('the encoder crashing is restarted without dropping the destinations', async () => {
    const pid = broadcast.stats().activeComposerPid;
    assert.ok(pid);
    const switches = broadcast.stats().switches;
    const crashes = broadcast.status().composer.crashes;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new composer', () => broadcast.stats().switches > switches, 20_000);
    assert.ok(broadcast.status().composer.crashes > crashes);
    assert.ok(broadcast.status().composer.lastError);
    await waitFor('output flowing', () => (destination('plain')?.fps ?? 0) > 0);
    assert.equal(server.publishCount('plain-key-1111'), 1);
  });

  it('stop ends both publishes and leaves a playable recording', async () => {
    let closed = false;
    broadcast.on('closed', () => (closed = true));
    await broadcast.close();
    assert.equal(closed, true);
    assert.equal(statuses.at(-1)?.state, 'stopped');
    await waitFor('publishes to end', () => server.activePublishes('plain-key-1111') === 0 && server.activePublishes('tls-key-2222') === 0, 5000);
    const recording = await probeStream(join(recordDir, 'show.flv'), 60);
    assert.equal(recording.video?.codec, 'h264');
    assert.equal(recording.audio?.codec, 'aac');
  });
});
