import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { auth, createRoom, hostInRoom, SignalClient, startServer, type TestServer } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A "minute" of the idle timeout lasts this long here. */
const MINUTE_MS = 1000;

describe('idle timeout: nobody on stage for the time the host set ends the broadcast (real ffmpeg, real nginx RTMP; a minute lasts 1 s here)', () => {
  let server: TestServer;
  let rtmp: RtmpServer;
  let destinationId: string;
  before(async () => {
    rtmp = await startRtmpServer();
    server = await startServer({}, undefined, { schedulerIntervalMs: 0, broadcastMinuteMs: MINUTE_MS });
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/destinations',
      headers: auth(server.adminToken),
      payload: { name: 'Local', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'idle-key-1' },
    });
    destinationId = res.json().id;
  });
  after(async () => {
    await server.close();
    await rtmp.stop();
  });

  const join = (roomId: string): Promise<SignalClient> => hostInRoom(server, roomId);

  async function waitFor(what: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (what()) return true;
      await sleep(50);
    }
    return what();
  }

  it("the host's browser closes: the broadcast stays live on the slate (the room stays open), ends after the idle timeout, and the history says why", async () => {
    const room = await createRoom(server, 'Idle room');
    const host = await join(room.id);
    const started = await host.ok('startBroadcast', { destinationIds: [destinationId], idleTimeoutMinutes: 3 });
    assert.equal(started.broadcast.idleTimeoutMinutes, 3);
    assert.equal(started.broadcast.idleSince, null);
    await host.notification('broadcast', (d) => d.broadcast?.destinations[0]?.state === 'live', 20_000);
    const changed = await host.ok('updateBroadcast', { idleTimeoutMinutes: 2 });
    assert.equal(changed.broadcast.idleTimeoutMinutes, 2);
    host.close();
    const left = Date.now();
    await sleep(1200);
    assert.equal(server.app.broadcasts.isLive(room.id), true, 'still live on the slate after the host left');
    assert.ok(server.app.registry.get(room.id), 'the room stays open while live');
    assert.ok(await waitFor(() => !server.app.broadcasts.isLive(room.id), 6000), 'the idle timeout ended it');
    const after = Date.now() - left;
    assert.ok(after >= 2 * MINUTE_MS - 100 && after < 2 * MINUTE_MS + 2500, `ended ${after} ms after the stage emptied`);
    const history = await server.app.inject({ method: 'GET', url: '/api/broadcasts', headers: auth(server.adminToken) });
    const record = history.json().find((b: { roomId: string }) => b.roomId === room.id);
    assert.equal(record.state, 'stopped');
    assert.match(record.destinations[0].stopReason, /Nobody was on stage for 2 minutes \(the idle timeout\)/);
    // With the broadcast over, the empty room closes after its grace period.
    assert.ok(await waitFor(() => !server.app.registry.get(room.id), 3000), 'the empty room closed');
  });

  it('someone back on stage before the timeout cancels it; Stop still ends it', async () => {
    const room = await createRoom(server, 'Back room');
    const host = await join(room.id);
    await host.ok('startBroadcast', { destinationIds: [destinationId], idleTimeoutMinutes: 2 });
    await host.notification('broadcast', (d) => d.broadcast?.destinations[0]?.state === 'live', 20_000);
    host.close();
    await sleep(800);
    const back = await join(room.id);
    assert.ok(await waitFor(() => server.app.broadcasts.liveStatus(room.id)?.idleSince === null, 1000), 'the countdown stopped when the host came back');
    await sleep(2500);
    assert.equal(server.app.broadcasts.isLive(room.id), true, 'not ended by the idle timeout');
    await back.ok('stopBroadcast');
    back.close();
  });
});
