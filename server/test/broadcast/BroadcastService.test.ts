import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePng } from '../compositor/pngFixture.js';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { auth, createRoom, hostInRoom, SignalClient, startServer, type TestServer } from '../helpers.js';

describe('going live over signalling (real ffmpeg, real nginx RTMP)', () => {
  let server: TestServer;
  let rtmp: RtmpServer;
  let destinationId: string;
  before(async () => {
    rtmp = await startRtmpServer();
    server = await startServer({}, undefined, { schedulerIntervalMs: 0 });
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/destinations',
      headers: auth(server.adminToken),
      payload: { name: 'Local', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'signal-key-1' },
    });
    destinationId = res.json().id;
  });
  after(async () => {
    await server.close();
    await rtmp.stop();
  });

  async function hostClient(): Promise<{ client: SignalClient; roomId: string }> {
    const room = await createRoom(server, 'Live room');
    return { client: await hostInRoom(server, room.id), roomId: room.id };
  }

  it('a double Go live starts one broadcast; the second is refused with ALREADY_LIVE; Stop twice answers NOT_LIVE', async () => {
    const { client } = await hostClient();
    const [a, b] = await Promise.all([
      client.request('startBroadcast', { destinationIds: [destinationId] }, 30_000),
      client.request('startBroadcast', { destinationIds: [destinationId] }, 30_000),
    ]);
    const kinds = [a.kind, b.kind].sort();
    assert.deepEqual(kinds, ['error', 'response']);
    const refused = a.kind === 'error' ? a : b;
    assert.equal(refused.kind === 'error' && refused.error.code, 'ALREADY_LIVE');
    const status = await client.notification('broadcast', (d) => d.broadcast?.destinations[0]?.state === 'live', 20_000);
    assert.equal(status.broadcast?.destinations[0]?.maskedUrl.endsWith('••••ey-1'), true);
    assert.equal(JSON.stringify(status).includes('signal-key-1'), false, 'the key never reaches a client');
    await client.ok('stopBroadcast');
    const again = await client.request('stopBroadcast');
    assert.equal(again.kind === 'error' && again.error.code, 'NOT_LIVE');
    client.close();
  });

  it("the room's stored logo goes on air in its stored corner at Go live (what a webinar's scheduled start relies on)", async () => {
    const { client, roomId } = await hostClient();
    const dir = mkdtempSync(join(tmpdir(), 'onair-logo-live-'));
    try {
      const up = await server.app.inject({
        method: 'PUT', url: `/api/rooms/${roomId}/broadcast/logo?corner=bottom-left`,
        headers: { ...auth(server.adminToken), 'content-type': 'image/png' }, payload: makePng(dir, 'red@0.8', '100x50'),
      });
      assert.equal(up.statusCode, 200, up.body);
      const started = await client.ok('startBroadcast', { destinationIds: [destinationId] });
      assert.equal(started.broadcast.logo?.corner, 'bottom-left');
      // Moving it while live moves it on air and for the room's next broadcasts.
      const moved = await server.app.inject({ method: 'PATCH', url: `/api/rooms/${roomId}/broadcast/logo`, headers: auth(server.adminToken), payload: { corner: 'top-left' } });
      assert.equal(moved.json().broadcast.logo.corner, 'top-left');
      await client.ok('stopBroadcast');
      assert.equal(server.app.broadcasts.logos.find(roomId)?.corner, 'top-left');
    } finally {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown destination is refused with DESTINATION_NOT_FOUND and nothing starts', async () => {
    const { client, roomId } = await hostClient();
    const reply = await client.request('startBroadcast', { destinationIds: ['dnope'] });
    assert.equal(reply.kind === 'error' && reply.error.code, 'DESTINATION_NOT_FOUND');
    assert.equal(server.app.broadcasts.isLive(roomId), false);
    client.close();
  });
});
