import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEALTH_MAX_SAMPLES, type BroadcastStatus, type DestinationStatus } from '@onair/shared';
import { HealthHistory } from '../../src/broadcast/HealthHistory.js';

const START = Date.parse('2026-04-01T10:00:00Z');

function destination(id: string, over: Partial<DestinationStatus> = {}): DestinationStatus {
  return { destinationId: id, name: id, platform: 'custom', maskedUrl: 'rtmp://x/live/••••abcd', state: 'live', bitrateKbps: 2500, fps: 30, retries: 0, lastError: null, liveSince: null, program: 'landscape', ...over };
}

function status(destinations: DestinationStatus[], over: Partial<BroadcastStatus> = {}): BroadcastStatus {
  return {
    id: 'b1', roomId: 'r1', state: 'live', startedAt: new Date(START).toISOString(), layout: 'auto', resolution: '720p', title: null, lowerThird: null, recording: false,
    slateText: 'Starting soon', logo: null, idleTimeoutMinutes: 10, idleSince: null, preview: false, vertical: { layout: 'auto', resolution: '720p', encoding: false, recording: false },
    composer: { crashes: 0, lastError: null, fps: 30 }, destinations, ...over,
  };
}

describe('HealthHistory: the last minutes of a broadcast, per destination and for the program', () => {
  it('samples each status at most every 1.5 s, in seconds since the start, and only while live', () => {
    const h = new HealthHistory({ startedAtMs: START });
    h.sample(status([destination('a')], { state: 'starting' }), START + 500);
    h.sample(status([destination('a', { bitrateKbps: 2412.345, fps: 29.96 })]), START + 2000);
    h.sample(status([destination('a', { state: 'retrying', retries: 1, bitrateKbps: 0, fps: 0 })]), START + 2400);
    h.sample(status([destination('a', { state: 'retrying', retries: 1, bitrateKbps: 0, fps: 0 })], { composer: { crashes: 0, lastError: null, fps: 29.5 } }), START + 4000);
    const snap = h.snapshot(['a']);
    assert.deepEqual(snap.program, { t: [2, 4], fps: [30, 29.5] });
    assert.deepEqual(snap.destinations, [{ destinationId: 'a', t: [2, 4], bitrateKbps: [2412.3, 0], fps: [30, 0], retries: [0, 1], state: ['live', 'retrying'] }]);
    assert.equal(snap.windowSeconds, 300);
  });

  it('keeps only the window (5 minutes by default), and never more than HEALTH_MAX_SAMPLES', () => {
    const h = new HealthHistory({ startedAtMs: START });
    for (let s = 0; s <= 600; s += 2) h.sample(status([destination('a')]), START + s * 1000);
    const a = h.snapshot(['a']).destinations[0]!;
    assert.equal(a.t[0], 300);
    assert.equal(a.t.at(-1), 600);
    assert.equal(a.t.length, 151);
    assert.equal(a.bitrateKbps.length, 151);

    const dense = new HealthHistory({ startedAtMs: START, minGapMs: 0 });
    for (let i = 0; i < 500; i++) dense.sample(status([destination('a')]), START + i * 100);
    assert.equal(dense.snapshot(['a']).destinations[0]!.t.length, HEALTH_MAX_SAMPLES);
    assert.equal(dense.snapshot(['a']).program.t.length, HEALTH_MAX_SAMPLES);
  });

  it('a destination added later has its own series; the snapshot has only the destinations asked for', () => {
    const h = new HealthHistory({ startedAtMs: START });
    h.sample(status([destination('a')]), START + 2000);
    h.sample(status([destination('a'), destination('b')]), START + 4000);
    const snap = h.snapshot(['b', 'a']);
    assert.deepEqual(snap.destinations.map((d) => [d.destinationId, d.t]), [['b', [4]], ['a', [2, 4]]]);
    assert.deepEqual(h.snapshot(['a']).destinations.map((d) => d.destinationId), ['a']);
    assert.deepEqual(h.snapshot(['nope']).destinations, []);
  });

  it('the average bitrate counts the samples a destination was live in, over the whole broadcast', () => {
    const h = new HealthHistory({ startedAtMs: START, windowMs: 10_000 });
    const rates: Array<[DestinationStatus['state'], number]> = [['connecting', 0], ['live', 2000], ['live', 3000], ['retrying', 0], ['live', 2500]];
    rates.forEach(([state, bitrateKbps], i) => h.sample(status([destination('a', { state, bitrateKbps })]), START + (i + 1) * 2000));
    for (let i = 0; i < 20; i++) h.sample(status([destination('a', { bitrateKbps: 2500 })]), START + (i + 6) * 2000);
    assert.equal(h.averageBitrateKbps('a'), 2500);
    assert.equal(h.averageBitrateKbps('never'), null);
    const never = new HealthHistory({ startedAtMs: START });
    never.sample(status([destination('c', { state: 'retrying', bitrateKbps: 0 })]), START + 2000);
    assert.equal(never.averageBitrateKbps('c'), null);
  });
});
