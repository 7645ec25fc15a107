import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { auth, startServer, type TestServer } from '../helpers.js';

const MIN = 60_000;

/** A clock the test moves by hand; the scheduler ticks only when the test says so. */
function manualClock(start = Date.now()) {
  let now = start;
  return { now: () => now, advanceTo: (t: number) => (now = t) };
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('scheduler (controllable clock, real SQLite, real broadcasts to a local RTMP server)', () => {
  let rtmp: RtmpServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'onair-sched-'));
  const clock = manualClock();
  let server: TestServer;

  const boot = async () => {
    server = await startServer({}, dataDir, { clock, schedulerIntervalMs: 0 });
  };
  async function call(method: string, url: string, payload?: unknown) {
    const res = await server.app.inject({ method: method as 'GET', url, headers: auth(server.adminToken), ...(payload !== undefined ? { payload: payload as object } : {}) });
    return res.json();
  }
  async function destination(key: string): Promise<string> {
    return (await call('POST', '/api/destinations', { name: `Local ${key}`, platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: key })).id;
  }
  async function webinar(title: string, key: string, startInMin: number, endInMin: number, extra: Record<string, unknown> = {}) {
    const w = await call('POST', '/api/webinars', {
      title,
      startsAt: new Date(clock.now() + startInMin * MIN).toISOString(),
      endsAt: new Date(clock.now() + endInMin * MIN).toISOString(),
      timeZone: 'UTC',
      destinationIds: [await destination(key)],
      ...extra,
    });
    assert.ok(w.id, JSON.stringify(w));
    return w as { id: string; roomId: string; startsAt: string; endsAt: string };
  }
  const status = async (id: string) => (await call('GET', `/api/webinars/${id}`)).status as string;
  const tick = () => server.app.scheduler.tick();

  before(async () => {
    rtmp = await startRtmpServer();
    await boot();
  });
  after(async () => {
    await server.close();
    await rtmp.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('goes live at its start time with nobody in the room, and stops at its end', async () => {
    const w = await webinar('On time', 'sched-on-time', 10, 20);
    await tick();
    assert.equal(await status(w.id), 'scheduled');
    assert.equal(rtmp.publishCount('sched-on-time'), 0);

    clock.advanceTo(Date.parse(w.startsAt) + 1000);
    await tick();
    assert.equal(await status(w.id), 'live');
    assert.equal(server.app.broadcasts.isLive(w.roomId), true);
    await waitUntil(() => rtmp.activePublishes('sched-on-time') === 1, 'the webinar to publish');

    clock.advanceTo(Date.parse(w.endsAt) + 1000);
    await tick();
    assert.equal(await status(w.id), 'ended');
    assert.equal(server.app.broadcasts.isLive(w.roomId), false);
    await waitUntil(() => rtmp.activePublishes('sched-on-time') === 0, 'the publish to end');
    const history = await call('GET', '/api/broadcasts');
    const record = history.find((b: { webinarId: string }) => b.webinarId === w.id);
    assert.equal(record.trigger, 'scheduled');
    assert.ok(record.stoppedAt);
  });

  it('editing the start reschedules, cancelling unschedules, and two webinars can be live at once', async () => {
    const moved = await webinar('Moved', 'sched-moved', 5, 30);
    const cancelled = await webinar('Cancelled', 'sched-cancelled', 5, 30);
    const other = await webinar('Other', 'sched-other', 5, 30);
    await call('PATCH', `/api/webinars/${moved.id}`, { startsAt: new Date(clock.now() + 15 * MIN).toISOString() });
    await call('POST', `/api/webinars/${cancelled.id}/cancel`);

    clock.advanceTo(clock.now() + 6 * MIN);
    await tick();
    assert.equal(await status(moved.id), 'scheduled');
    assert.equal(await status(cancelled.id), 'cancelled');
    assert.equal(await status(other.id), 'live');

    clock.advanceTo(clock.now() + 10 * MIN);
    await tick();
    assert.equal(await status(moved.id), 'live');
    assert.equal(await status(other.id), 'live');
    await waitUntil(() => rtmp.activePublishes('sched-moved') === 1 && rtmp.activePublishes('sched-other') === 1, 'both to publish');
    assert.equal(rtmp.publishCount('sched-cancelled'), 0);

    clock.advanceTo(clock.now() + 20 * MIN);
    await tick();
    assert.equal(await status(moved.id), 'ended');
    assert.equal(await status(other.id), 'ended');
  });

  it('after a restart: a live webinar resumes, one whose start passed inside its window goes live, one whose window passed is missed', async () => {
    const resumed = await webinar('Resumed', 'sched-resumed', 1, 60);
    clock.advanceTo(clock.now() + 2 * MIN);
    await tick();
    assert.equal(await status(resumed.id), 'live');
    const startsWhileDown = await webinar('Starts while down', 'sched-down-start', 5, 60);
    const missed = await webinar('Missed', 'sched-missed', 10, 20);

    await server.close();
    clock.advanceTo(clock.now() + 30 * MIN); // server down from +2 to +32 min
    await boot();
    await tick();
    assert.equal(await status(resumed.id), 'live');
    assert.equal(await status(startsWhileDown.id), 'live');
    assert.equal(await status(missed.id), 'missed');
    await waitUntil(() => rtmp.activePublishes('sched-resumed') === 1 && rtmp.activePublishes('sched-down-start') === 1, 'both to publish after restart');
    assert.equal(rtmp.publishCount('sched-missed'), 0);

    clock.advanceTo(clock.now() + 60 * MIN);
    await tick();
    assert.equal(await status(resumed.id), 'ended');
  });
});
