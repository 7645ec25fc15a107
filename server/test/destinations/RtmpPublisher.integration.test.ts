import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { RtmpPublisher, type PublishProgress } from '../../src/destinations/rtmp/RtmpPublisher.js';
import type { DescribedFailure } from '../../src/destinations/errors.js';
import { FfmpegProcess } from '../../src/media/FfmpegProcess.js';
import { resolveFfmpegPath } from '../../src/media/ffmpegPath.js';
import { probeStream } from '../../../e2e/fixtures/ffprobe.js';
import { processesContaining } from '../../../e2e/fixtures/processes.js';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const ffmpegPath = resolveFfmpegPath();
const UNTRUSTED = /^The server's TLS certificate is not trusted \((.+)\)\. If this is your own server, turn on "Allow an untrusted certificate" for this destination\.$/;

/** A key no other test run on this machine uses (the process scan must not see someone else's ffprobe). */
const uniqueKey = (label: string): string => `${label}-${randomBytes(6).toString('hex')}-${label.length}xyz`;

async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A real ffmpeg test source (640x360 30 fps H.264, keyframe every 2 s, AAC 48 kHz) as FLV into the publisher. */
function feed(publisher: RtmpPublisher, seconds: number): FfmpegProcess {
  const source = FfmpegProcess.spawn({
    ffmpegPath,
    logger,
    stdout: true,
    args: [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-ac', '2', '-b:a', '128k', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1',
    ],
  });
  source.stdout?.on('data', (chunk: Buffer) => {
    source.markReady();
    publisher.write(chunk);
  });
  return source;
}

/** Resolves at NetStream.Publish.Start, rejects with the failure if the publish ends first. */
function outcome(publisher: RtmpPublisher): Promise<void> {
  return new Promise((resolve, reject) => {
    publisher.once('live', () => resolve());
    publisher.once('failed', (f) => reject(Object.assign(new Error(f.message), { failure: f })));
  });
}

function failure(publisher: RtmpPublisher, timeoutMs = 15_000): Promise<DescribedFailure> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no failure reported')), timeoutMs);
    publisher.once('live', () => reject(new Error('went live instead of failing')));
    publisher.once('failed', (f) => {
      clearTimeout(timer);
      resolve(f);
    });
  });
}

describe('RtmpPublisher on a real nginx-rtmp (real ffmpeg source, read back with ffprobe)', { timeout: 180_000 }, () => {
  let server: RtmpServer;
  const refusedKey = uniqueKey('refused');

  before(async () => {
    server = await startRtmpServer();
    server.rejectKeys.add(refusedKey);
  });
  after(async () => {
    await server?.stop();
  });

  it('publishes over rtmp://: H.264 + AAC with a keyframe every 2 s, progress reported, and the key in no process arguments or environment', async () => {
    const key = uniqueKey('plain');
    const publisher = RtmpPublisher.start({ publishUrl: `${server.rtmpUrl('live')}/${key}`, logger });
    const progress: PublishProgress[] = [];
    publisher.on('progress', (p) => progress.push(p));
    const source = feed(publisher, 14);
    const started = performance.now();
    await outcome(publisher);
    const liveMs = Math.round(performance.now() - started);

    // While live, and before ffprobe (whose own arguments hold the URL) runs.
    assert.deepEqual(processesContaining(key), [], 'no process has the stream key in its arguments or environment');

    const probed = await probeStream(`${server.rtmpUrl('live')}/${key}`, 6);
    assert.equal(probed.video?.codec, 'h264');
    assert.equal(probed.video?.width, 640);
    assert.ok(Math.abs((probed.video?.fps ?? 0) - 30) <= 2, `about 30 fps, got ${probed.video?.fps}`);
    assert.ok(probed.video?.keyframeInterval !== null && Math.abs((probed.video?.keyframeInterval ?? 0) - 2) <= 0.1, `keyframe every 2 s, got ${probed.video?.keyframeInterval}`);
    assert.equal(probed.audio?.codec, 'aac');
    assert.equal(probed.audio?.sampleRate, 48000);
    assert.equal(probed.audio?.channels, 2);

    const last = progress[progress.length - 1];
    assert.ok(last && last.frames > 150 && last.totalSize > 100_000, `progress: ${JSON.stringify(last)}`);
    assert.ok(publisher.backlogBytes < 256 * 1024, `backlog ${publisher.backlogBytes}`);
    assert.equal(server.publishCount(key), 1);
    await publisher.stop(true);
    await source.close();
    await waitFor('nginx to see the unpublish', () => server.activePublishes(key) === 0);
    console.log(`rtmp:// publish accepted ${liveMs} ms after start; ${last.frames} frames, ${last.totalSize} bytes`);
  });

  it('publishes over rtmps:// with the certificate verified (a CA this process trusts)', async () => {
    const key = uniqueKey('tls');
    const publisher = RtmpPublisher.start({ publishUrl: `${server.rtmpsUrl('live')}/${key}`, extraCa: [server.caPem], logger });
    const source = feed(publisher, 10);
    await outcome(publisher);
    const probed = await probeStream(`${server.rtmpUrl('live')}/${key}`, 3);
    assert.equal(probed.video?.codec, 'h264');
    assert.equal(probed.audio?.codec, 'aac');
    await publisher.stop(true);
    await source.close();
    await waitFor('nginx to see the unpublish', () => server.activePublishes(key) === 0);
  });

  const untrustedCases: Array<[string, () => string, RegExp]> = [
    ['a self-signed certificate', () => server.rtmpsUrl('live', 'selfSigned'), /^self-signed$/],
    ['a certificate for another host name', () => server.rtmpsUrl('live', 'wrongHost'), /^host name mismatch$/],
    ['a certificate from a CA this process does not trust', () => server.rtmpsUrl('live', 'trusted'), /^issued by an unknown authority$/],
  ];
  for (const [what, url, reason] of untrustedCases) {
    it(`${what} is not trusted: the publish fails in plain words (untrusted_certificate) and nothing is published`, async () => {
      const key = uniqueKey('untrusted');
      const isTrustedFront = url() === server.rtmpsUrl('live', 'trusted');
      const publisher = RtmpPublisher.start({ publishUrl: `${url()}/${key}`, ...(isTrustedFront ? {} : { extraCa: [server.caPem] }), logger });
      const source = feed(publisher, 4);
      const failed = await failure(publisher);
      await source.close();
      assert.equal(failed.kind, 'untrusted_certificate');
      assert.match(failed.message, UNTRUSTED);
      assert.match(UNTRUSTED.exec(failed.message)?.[1] ?? '', reason);
      assert.equal(server.publishCount(key), 0, 'the key never reached the server');
    });
  }

  it('a self-signed certificate is accepted when the destination allows an untrusted certificate', async () => {
    const key = uniqueKey('allowed');
    const publisher = RtmpPublisher.start({ publishUrl: `${server.rtmpsUrl('live', 'selfSigned')}/${key}`, allowUntrustedCertificate: true, logger });
    const source = feed(publisher, 8);
    await outcome(publisher);
    const probed = await probeStream(`${server.rtmpUrl('live')}/${key}`, 2);
    assert.equal(probed.video?.codec, 'h264');
    await publisher.stop(true);
    await source.close();
  });

  it('a refused key (on_publish answers 403) → refused, in plain words, without the key', async () => {
    const publisher = RtmpPublisher.start({ publishUrl: `${server.rtmpUrl('live')}/${refusedKey}`, logger });
    const source = feed(publisher, 4);
    const failed = await failure(publisher);
    await source.close();
    assert.equal(failed.kind, 'refused');
    assert.match(failed.message, /refused the stream key/);
    assert.equal(failed.message.includes(refusedKey), false);
  });

  it('a second publish of a key already live → refused (NetStream.Publish.BadName)', async () => {
    const key = uniqueKey('dup');
    const first = RtmpPublisher.start({ publishUrl: `${server.rtmpUrl('live')}/${key}`, logger });
    const firstSource = feed(first, 8);
    await outcome(first);
    const second = RtmpPublisher.start({ publishUrl: `${server.rtmpUrl('live')}/${key}`, logger });
    const secondSource = feed(second, 4);
    const failed = await failure(second);
    assert.equal(failed.kind, 'refused');
    assert.match(failed.message, /refused the stream key \(NetStream\.Publish\.BadName/);
    await Promise.all([first.stop(true), firstSource.close(), secondSource.close()]);
  });

  it('nothing listening → connection refused (transient); the server going away while live → dropped (transient)', async () => {
    const nowhere = RtmpPublisher.start({ publishUrl: 'rtmp://127.0.0.1:1/live/some-key', logger });
    const refused = await failure(nowhere);
    assert.deepEqual(refused, { kind: 'transient', message: 'Could not connect to 127.0.0.1:1: connection refused.' });

    const key = uniqueKey('cut');
    const publisher = RtmpPublisher.start({ publishUrl: `${server.rtmpsUrl('live')}/${key}`, extraCa: [server.caPem], logger });
    const source = feed(publisher, 20);
    await outcome(publisher);
    const dropped = failure(publisher);
    await server.cutRtmps();
    try {
      const failed = await dropped;
      assert.equal(failed.kind, 'transient');
      assert.match(failed.message, /connection to 127\.0\.0\.1:\d+ was dropped/);
    } finally {
      await source.close();
      await server.restoreRtmps();
    }
  });
});
