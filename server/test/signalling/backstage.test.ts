import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, createRoom, guestToken, hostToken, joinRoom, OPUS_PARAMETERS, SignalClient, startServer, type TestServer } from '../helpers.js';

const HOUR = 3_600_000;

describe('backstage: hosts put people on air and take them off', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function joined(token: string, roomId: string) {
    const client = await SignalClient.connect(server.wsUrl);
    return { client, ...(await joinRoom(client, token, roomId)) };
  }

  it('in a plain meeting everyone starts on air', async () => {
    const room = await createRoom(server);
    const alice = await joined(await guestToken(server, room.id, room.invite, 'Alice'), room.id);
    assert.deepEqual(alice.join.onAir, { camera: true, screen: true });
    const bob = await joined(await guestToken(server, room.id, room.invite, 'Bob'), room.id);
    assert.deepEqual(bob.join.peers[0]?.onAir, { camera: true, screen: true });
    alice.client.close();
    bob.client.close();
  });

  it('a guest cannot set anyone on air (FORBIDDEN); a host can, the person is told and everyone else sees it', async () => {
    const room = await createRoom(server);
    const host = await joined(await hostToken(server, room.id, 'Hana Host'), room.id);
    const guest = await joined(await guestToken(server, room.id, room.invite, 'Gus'), room.id);
    const other = await joined(await guestToken(server, room.id, room.invite, 'Olga'), room.id);

    const refused = await guest.client.request('setOnAir', { peerId: other.auth.peerId, onAir: false });
    assert.equal(refused.kind === 'error' && refused.error.code, 'FORBIDDEN');
    assert.equal(guest.client.closeCode, null, 'a refused host action does not end the session');

    await host.client.ok('setOnAir', { peerId: guest.auth.peerId, source: 'camera', onAir: false });
    const told = await guest.client.notification('onAir');
    assert.deepEqual(told.onAir, { camera: false, screen: true });
    for (const c of [host.client, other.client]) {
      const seen = await c.notification('peerUpdated', (d) => d.peer.id === guest.auth.peerId && !d.peer.onAir.camera);
      assert.deepEqual(seen.peer.onAir, { camera: false, screen: true });
    }

    await host.client.ok('setOnAir', { peerId: guest.auth.peerId, onAir: true });
    assert.deepEqual((await guest.client.notification('onAir', (d) => d.onAir.camera)).onAir, { camera: true, screen: true });

    const missing = await host.client.request('setOnAir', { peerId: 'nobody', onAir: true });
    assert.equal(missing.kind === 'error' && missing.error.code, 'PEER_NOT_FOUND');
    for (const c of [host.client, guest.client, other.client]) c.close();
  });

  it('in a webinar guests land backstage by default, hosts on air; guestsStartBackstage: false lets guests in on air', async () => {
    const body = (overrides: Record<string, unknown>) => ({
      title: 'Launch day',
      startsAt: new Date(Date.now() + HOUR).toISOString(),
      endsAt: new Date(Date.now() + 2 * HOUR).toISOString(),
      timeZone: 'Europe/Paris',
      destinationIds: [],
      ...overrides,
    });
    const create = async (overrides: Record<string, unknown>) => {
      const res = await server.app.inject({ method: 'POST', url: '/api/webinars', headers: auth(server.adminToken), payload: body(overrides) });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { roomId: string; panelistUrl: string; guestsStartBackstage: boolean };
    };
    const backstage = await create({});
    assert.equal(backstage.guestsStartBackstage, true);
    const invite = new URL(backstage.panelistUrl).searchParams.get('invite') ?? '';
    const host = await joined(await hostToken(server, backstage.roomId, 'Hana Host'), backstage.roomId);
    assert.deepEqual(host.join.onAir, { camera: true, screen: true });
    const guest = await joined(await guestToken(server, backstage.roomId, invite, 'Gus'), backstage.roomId);
    assert.deepEqual(guest.join.onAir, { camera: false, screen: false });
    const joinedNote = await host.client.notification('peerJoined');
    assert.deepEqual(joinedNote.peer.onAir, { camera: false, screen: false });
    // Backstage people still meet: the host receives the guest's microphone.
    const mic = await guest.client.ok('produce', { transportId: guest.send.id, kind: 'audio', rtpParameters: OPUS_PARAMETERS, source: 'mic' });
    await host.client.notification('newConsumer', (d) => d.producerId === mic.producerId);

    const onAir = await create({ guestsStartBackstage: false });
    assert.equal(onAir.guestsStartBackstage, false);
    const invite2 = new URL(onAir.panelistUrl).searchParams.get('invite') ?? '';
    const guest2 = await joined(await guestToken(server, onAir.roomId, invite2, 'Gia'), onAir.roomId);
    assert.deepEqual(guest2.join.onAir, { camera: true, screen: true });
    for (const c of [host.client, guest.client, guest2.client]) c.close();
  });
});
