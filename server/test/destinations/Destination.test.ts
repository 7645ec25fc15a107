import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { DestinationStatus } from '@onair/shared';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  Destination,
  MAX_BACKLOG_BYTES,
} from '../../src/destinations/Destination.js';
import type { Pusher, PusherHandlers } from '../../src/destinations/Pusher.js';
import { resolvePublishTarget } from '../../src/destinations/PublishTarget.js';
import { FakeClock } from '../fakeClock.js';

const logger = pino({ level: 'silent' });

/** A pusher process stand-in the test drives by hand. */
class FakePusher implements Pusher {
  written = 0;
  backlogBytes = 0;
  stopped: boolean | null = null;
  totalSize = 0;
  frames = 0;
  constructor(readonly url: string, readonly handlers: PusherHandlers) {}
  write(chunk: Buffer): void {
    this.written += chunk.length;
  }
  async stop(graceful: boolean): Promise<void> {
    this.stopped = graceful;
  }
  /**
   * The publisher reports a second of progress: `bytes` more sent, `frames` more frames, measured
   * over that second; `mediaTaken` once any media went out (the real publisher waits for a second of it).
   */
  progress(bytes: number, frames = 30, mediaTaken = this.totalSize + bytes > 0 && this.frames + frames > 0): void {
    this.totalSize += bytes;
    this.frames += frames;
    this.handlers.onProgress({ totalSize: this.totalSize, frames: this.frames, mediaTaken, fps: frames, bitrateKbps: Math.round((bytes * 8) / 1000) });
  }
  exit(stderr: string): void {
    this.handlers.onExit(stderr);
  }
}

function setup(options: { retry?: Partial<typeof DEFAULT_RETRY_POLICY>; serverUrl?: string } = {}) {
  const clock = new FakeClock();
  const pushers: FakePusher[] = [];
  const attached = new Set<string>();
  const statuses: DestinationStatus[] = [];
  const destination = new Destination({
    destination: resolvePublishTarget({ id: 'd1', name: 'YouTube', platform: 'youtube', serverUrl: options.serverUrl ?? 'rtmp://a.rtmp.youtube.com/live2', streamKey: 'abcd-efgh-1234' }),
    createPusher: (url, handlers) => {
      const p = new FakePusher(url, handlers);
      pushers.push(p);
      return p;
    },
    logger,
    clock,
    random: () => 0.5, // no jitter
    ...(options.retry ? { retry: options.retry } : {}),
  });
  destination.on('status', (s) => statuses.push(s));
  // What the broadcast does with a destination's feed reports: add it to the relay, or remove it.
  destination.on('feed', (on) => (on ? attached.add(destination.id) : attached.delete(destination.id)));
  const last = (): FakePusher => {
    const p = pushers[pushers.length - 1];
    assert.ok(p);
    return p;
  };
  /** The relay feeds data and ffmpeg reports progress every second, for `seconds`. */
  const flow = (seconds: number, bytesPerSecond = 560_000): void => {
    for (let i = 0; i < seconds; i += 1) {
      destination.write(Buffer.alloc(1000));
      last().progress(bytesPerSecond);
      clock.advance(1000);
    }
  };
  return { clock, pushers, attached, statuses, destination, last, flow };
}

describe('Destination state machine (fake process)', () => {
  it('connecting → live once bytes flow, with bitrate and fps in the status', () => {
    const { destination, last, attached, flow } = setup();
    destination.start();
    assert.equal(destination.state, 'connecting');
    assert.ok(attached.has('d1'), 'attached to the relay');
    assert.equal(last().url, 'rtmp://a.rtmp.youtube.com/live2/abcd-efgh-1234');
    flow(4);
    const status = destination.status();
    assert.equal(status.state, 'live');
    assert.equal(status.maskedUrl, 'rtmp://a.rtmp.youtube.com/live2/••••1234');
    assert.equal(status.bitrateKbps, 4480);
    assert.equal(status.fps, 30);
    assert.ok(status.liveSince);
    assert.equal(status.lastError, null);
  });

  it('accepted but no media taken yet → stays connecting (never LIVE · 0 kb/s · 0 fps); live from the first report that media was taken', () => {
    const { destination, last, clock, statuses } = setup();
    destination.start();
    for (let i = 0; i < 3; i += 1) {
      destination.write(Buffer.alloc(1000));
      last().progress(4000, 0, false);
      clock.advance(1000);
    }
    assert.equal(destination.state, 'connecting');
    assert.equal(statuses.some((s) => s.state === 'live'), false);
    destination.write(Buffer.alloc(1000));
    last().progress(560_000, 30, true);
    const live = destination.status();
    assert.equal(live.state, 'live');
    assert.ok(live.fps > 0 && live.bitrateKbps > 0, JSON.stringify(live));
  });

  it('a process exit → retrying with a plain-word error, then reconnects after 1 s, 2 s, 4 s …', () => {
    const { destination, pushers, clock, last } = setup();
    destination.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      last().exit('[tcp @ 0x1] Connection to tcp://a.rtmp.youtube.com:1935 failed: Connection refused');
      assert.equal(destination.state, 'retrying');
      assert.equal(destination.status().lastError, 'Could not connect to a.rtmp.youtube.com: connection refused.');
      const before = pushers.length;
      const started = clock.time;
      while (pushers.length === before) clock.advance(100);
      delays.push(clock.time - started);
      assert.equal(destination.state, 'connecting');
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000]);
    assert.equal(destination.status().retries, 6);
  });

  it('backoff is capped at 30 s with ±20 % jitter', () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const low = backoffDelay(attempt, DEFAULT_RETRY_POLICY, () => 0);
      const high = backoffDelay(attempt, DEFAULT_RETRY_POLICY, () => 1);
      const mid = Math.min(30_000, 1000 * 2 ** attempt);
      assert.equal(low, Math.round(mid * 0.8));
      assert.equal(high, Math.round(mid * 1.2));
    }
  });

  it('staying live 30 s resets the backoff to 1 s', () => {
    const { destination, pushers, clock, last, flow } = setup();
    destination.start();
    for (let i = 0; i < 3; i += 1) {
      last().exit('Connection refused');
      clock.advance(20_000);
    }
    flow(35);
    assert.equal(destination.state, 'live');
    last().exit('Broken pipe');
    const before = pushers.length;
    clock.advance(1000);
    assert.equal(pushers.length, before + 1, 'reconnected after 1 s');
  });

  it('output not growing for 8 s while input flows is a stall: kill and retry', () => {
    const { destination, last, clock, flow } = setup();
    destination.start();
    flow(3);
    const stalled = last();
    let seconds = 0;
    while (destination.state === 'live' && seconds < 20) {
      destination.write(Buffer.alloc(1000));
      clock.advance(1000);
      seconds += 1;
    }
    assert.equal(destination.state, 'retrying');
    assert.ok(seconds >= 8 && seconds <= 10, `stall noticed after ${seconds} s`);
    assert.equal(stalled.stopped, false, 'killed, not ended gracefully');
    assert.match(destination.status().lastError ?? '', /stalled/);
  });

  it('a backlog beyond the limit drops data instead of buffering, then restarts the pusher', () => {
    const { destination, last, clock, flow } = setup();
    destination.start();
    flow(2);
    const slow = last();
    slow.backlogBytes = MAX_BACKLOG_BYTES + 1;
    const written = slow.written;
    destination.write(Buffer.alloc(5000));
    assert.equal(slow.written, written, 'nothing more handed to a slow pusher');
    assert.equal(destination.droppedBytes, 5000);
    clock.advance(1000);
    assert.equal(destination.state, 'retrying');
  });

  it('no answer within the connect timeout → retrying', () => {
    const { destination, clock } = setup();
    destination.start();
    for (let i = 0; i < 21; i += 1) {
      destination.write(Buffer.alloc(100));
      clock.advance(1000);
    }
    assert.equal(destination.state, 'retrying');
    assert.match(destination.status().lastError ?? '', /did not answer/);
  });

  it('a refused key is retried, and given up on (failed) after repeated refusals', () => {
    const { destination, clock, last, pushers } = setup({ retry: { maxPermanentFailures: 3 } });
    destination.start();
    for (let i = 0; i < 3; i += 1) {
      last().exit('rtmp://a.rtmp.youtube.com/live2/abcd-efgh-1234: Input/output error');
      clock.advance(60_000);
    }
    assert.equal(destination.state, 'failed');
    assert.match(destination.status().lastError ?? '', /refused the stream key/);
    assert.doesNotMatch(destination.status().lastError ?? '', /abcd-efgh-1234/);
    const count = pushers.length;
    clock.advance(120_000);
    assert.equal(pushers.length, count, 'no more attempts once failed');
  });

  it('connection errors are never given up on', () => {
    const { destination, clock, last } = setup({ retry: { maxPermanentFailures: 2 } });
    destination.start();
    for (let i = 0; i < 10; i += 1) {
      last().exit('Connection refused');
      clock.advance(40_000);
    }
    assert.notEqual(destination.state, 'failed');
  });

  it('stop() ends the pusher gracefully, detaches from the relay and stops retrying', async () => {
    const { destination, last, attached, flow, clock, pushers } = setup();
    destination.start();
    flow(2);
    const pusher = last();
    await destination.stop();
    assert.equal(destination.state, 'stopped');
    assert.equal(pusher.stopped, true);
    assert.equal(attached.has('d1'), false);
    clock.advance(60_000);
    assert.equal(pushers.length, 1);
  });

  it('an exit after stop() is ignored', async () => {
    const { destination, last } = setup();
    destination.start();
    const pusher = last();
    await destination.stop();
    pusher.exit('Connection refused');
    assert.equal(destination.state, 'stopped');
    assert.equal(destination.status().lastError, null);
  });
});
