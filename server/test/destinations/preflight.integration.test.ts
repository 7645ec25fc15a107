import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { DestinationStatus } from '@onair/shared';
import { FlvParser } from '../../src/flv/flv.js';
import { FlvRelay } from '../../src/flv/FlvRelay.js';
import { OUTPUT_FPS } from '../../src/compositor/profile.js';
import { Destination } from '../../src/destinations/Destination.js';
import { preflightRules } from '../../src/destinations/preflight.js';
import { rtmpPusherFactory } from '../../src/destinations/Pusher.js';
import { testPatternArgs, testPush } from '../../src/destinations/testPush.js';
import { FfmpegProcess } from '../../src/media/FfmpegProcess.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { probeStream } from '../../../e2e/fixtures/ffprobe.js';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { resolvePublishTarget } from '../../src/destinations/PublishTarget.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const ffmpegPath = resolveFfmpegPath();
const uniqueKey = (label: string): string => `${label}-${randomBytes(6).toString('hex')}`;

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Test as a preflight, and measured health (real ffmpeg, real nginx-rtmp, read back with ffprobe)', { timeout: 240_000 }, () => {
  let rtmp: RtmpServer;
  before(async () => {
    rtmp = await startRtmpServer();
  });
  after(async () => {
    await rtmp?.stop();
  });

  it('Test sends the broadcast profile: nginx records H.264 High 1280x720, 2 s GOP, AAC 48 kHz stereo; every rule passes, measured from what was sent', async () => {
    const key = uniqueKey('preflight');
    const started = performance.now();
    const result = await testPush({ ffmpegPath, publishUrl: `${rtmp.rtmpUrl('rec')}/${key}`, allowUntrustedCertificate: false, logger });
    const tookMs = Math.round(performance.now() - started);
    assert.equal(result.failure, null, result.failure?.message);

    const file = join(rtmp.recordDir, `${key}.flv`);
    await waitFor('nginx to close the recording', () => rtmp.activePublishes(key) === 0);
    const probed = await probeStream(file, 30);
    assert.equal(probed.video?.codec, 'h264');
    assert.equal(probed.video?.profile, 'High');
    assert.equal(probed.video?.width, 1280);
    assert.equal(probed.video?.height, 720);
    assert.ok(Math.abs((probed.video?.fps ?? 0) - 30) < 1, `fps ${probed.video?.fps}`);
    assert.ok(probed.video?.keyframeInterval !== null && Math.abs((probed.video?.keyframeInterval ?? 0) - 2) < 0.1, `GOP ${probed.video?.keyframeInterval}`);
    assert.equal(probed.audio?.codec, 'aac');
    assert.equal(probed.audio?.sampleRate, 48000);
    assert.equal(probed.audio?.channels, 2);

    // The publisher's own measurements agree with what nginx recorded.
    const m = result.measurements;
    assert.deepEqual([m.avc?.profile, m.avc?.width, m.avc?.height], ['High', 1280, 720]);
    assert.deepEqual([m.aac?.sampleRate, m.aac?.channels], [48000, 2]);
    const rules = preflightRules(m, { platform: 'youtube', resolution: '720p', failure: null, host: rtmp.rtmpUrl() });
    assert.deepEqual(rules.filter((r) => r.ok !== true), [], JSON.stringify(rules, null, 1));
    console.log(`preflight 720p: ${m.frames} frames, ${m.fps} fps, keyframes at ${m.keyframeTimes.join('/')} ms, ${m.videoKbps} kb/s video; took ${tookMs} ms`);
  });

  it('Test at 1080p sends 1920x1080 (the resolution chosen)', async () => {
    const key = uniqueKey('preflight-1080');
    const result = await testPush({ ffmpegPath, publishUrl: `${rtmp.rtmpUrl('live')}/${key}`, allowUntrustedCertificate: false, resolution: '1080p', logger });
    assert.equal(result.failure, null, result.failure?.message);
    const rules = preflightRules(result.measurements, { platform: 'twitch', resolution: '1080p', failure: null, host: 'x' });
    const size = rules.find((r) => r.rule === '1920x1080 at 30 fps');
    assert.equal(size?.ok, true, size?.detail);
    console.log(`preflight 1080p: ${rules.map((r) => `${r.rule}: ${r.ok} (${r.detail})`).join('; ')}`);
  });

  it('a refused key: the server rule fails with the reason, and the stream rules are not checked (nothing was sent)', async () => {
    const key = uniqueKey('refused');
    rtmp.rejectKeys.add(key);
    const result = await testPush({ ffmpegPath, publishUrl: `${rtmp.rtmpUrl('live')}/${key}`, allowUntrustedCertificate: false, logger });
    assert.equal(result.failure?.kind, 'refused');
    const rules = preflightRules(result.measurements, { platform: 'youtube', resolution: '720p', failure: result.failure?.message ?? null, host: 'x' });
    assert.deepEqual(rules.map((r) => r.ok), [null, null, null, null, null, false]);
    assert.match(rules.at(-1)?.detail ?? '', /refused the stream key/);
  });

  it('health: a destination is LIVE only once the server has media, and never reports more fps than the output (30)', async () => {
    const key = uniqueKey('health');
    const relay = new FlvRelay();
    const source = FfmpegProcess.spawn({ ffmpegPath, args: testPatternArgs(16, '720p'), logger, stdout: true });
    const parser = new FlvParser();
    relay.expect('program');
    source.stdout?.on('data', (chunk: Buffer) => {
      source.markReady();
      for (const tag of parser.push(chunk)) relay.push('program', tag);
    });
    // Attach late: the relay hands over its cached GOP at once, and the publisher its held frames
    // when nginx accepts the stream — the bursts that used to read as 44–47 fps.
    await new Promise((r) => setTimeout(r, 3500));
    const file = join(rtmp.recordDir, `${key}.flv`);
    const destination = new Destination({
      destination: resolvePublishTarget({ id: 'health', name: 'nginx', platform: 'custom', serverUrl: rtmp.rtmpUrl('rec'), streamKey: key }),
      createPusher: rtmpPusherFactory({ logger }),
      logger,
    });
    destination.on('feed', (on) => (on ? relay.addSink(destination) : relay.removeSink(destination.id)));
    let recordedWhenLive: number | null = null;
    let publishesWhenLive = -1;
    destination.on('status', (s) => {
      if (s.state !== 'live' || recordedWhenLive !== null) return;
      publishesWhenLive = rtmp.publishCount(key);
      // nginx writes what it receives into its recording; give it a moment to write, not to receive.
      setTimeout(() => (recordedWhenLive = existsSync(file) ? statSync(file).size : 0), 100);
    });
    const samples: DestinationStatus[] = [];
    destination.start();
    const poll = setInterval(() => samples.push(destination.status()), 250);
    try {
      await waitFor('the destination to go live', () => destination.state === 'live');
      await new Promise((r) => setTimeout(r, 7000));
    } finally {
      clearInterval(poll);
      await destination.stop();
      await source.close();
    }
    const live = samples.filter((s) => s.state === 'live');
    assert.ok(live.length > 20, `${live.length} live samples`);
    assert.equal(publishesWhenLive, 1, 'nginx had accepted the publish');
    assert.ok(recordedWhenLive !== null && recordedWhenLive > 100_000, `nginx had recorded ${recordedWhenLive} bytes when the destination said LIVE`);
    const maxFps = Math.max(...live.map((s) => s.fps));
    const maxKbps = Math.max(...live.map((s) => s.bitrateKbps));
    assert.ok(live.every((s) => s.fps > 0 && s.bitrateKbps > 0), 'never LIVE · 0 kb/s · 0 fps');
    assert.ok(maxFps <= OUTPUT_FPS, `fps never above the output's ${OUTPUT_FPS}: max ${maxFps}`);
    // 4000 kb/s video + 128 kb/s audio; x264 lands within a few percent over a 5 s window.
    assert.ok(maxKbps < 4128 * 1.15, `bitrate never above what is encoded: max ${maxKbps} kb/s`);
    console.log(`health while live: fps ${Math.min(...live.map((s) => s.fps))}–${maxFps}, ${Math.min(...live.map((s) => s.bitrateKbps))}–${maxKbps} kb/s over ${live.length} samples; nginx had ${recordedWhenLive} bytes at LIVE`);
  });
});
