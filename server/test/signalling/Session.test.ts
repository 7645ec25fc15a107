import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { MAX_SIGNAL_MESSAGE_BYTES } from '@onair/shared';
import { createRoom, guestToken, OPUS_PARAMETERS, SignalClient, startServer, VP8_PARAMETERS, type TestServer } from '../helpers.js';

describe('signalling against a real mediasoup worker', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function joinedClient(roomId: string, invite: string, name: string) {
    const token = await guestToken(server, roomId, invite, name);
    const client = await SignalClient.connect(server.wsUrl);
    const auth = await client.ok('authenticate', { token, roomId });
    const send = await client.ok('createTransport', { direction: 'send' });
    const recv = await client.ok('createTransport', { direction: 'recv' });
    const join = await client.ok('join', { rtpCapabilities: auth.routerRtpCapabilities });
    return { client, auth, send, recv, join };
  }

  it('join, produce, consume, leave: the others see the peer, its media and its departure', async () => {
    const room = await createRoom(server);
    const alice = await joinedClient(room.id, room.invite, 'Alice');
    assert.equal(alice.auth.role, 'guest');
    assert.equal(alice.auth.displayName, 'Alice');
    assert.deepEqual(alice.join.peers, []);

    const bob = await joinedClient(room.id, room.invite, 'Bob');
    assert.equal(bob.join.peers.length, 1);
    assert.equal(bob.join.peers[0].displayName, 'Alice');
    const joined = await alice.client.notification('peerJoined');
    assert.equal(joined.peer.displayName, 'Bob');

    const mic = await alice.client.ok('produce', { transportId: alice.send.id, kind: 'audio', rtpParameters: OPUS_PARAMETERS, source: 'mic' });
    const cam = await alice.client.ok('produce', { transportId: alice.send.id, kind: 'video', rtpParameters: VP8_PARAMETERS, source: 'camera' });
    const audio = await bob.client.notification('newConsumer', (d) => d.producerId === mic.producerId);
    const video = await bob.client.notification('newConsumer', (d) => d.producerId === cam.producerId);
    assert.equal(audio.kind, 'audio');
    assert.equal(video.kind, 'video');
    assert.equal(video.source, 'camera');
    assert.equal(video.peerId, alice.auth.peerId);
    await bob.client.ok('resumeConsumer', { consumerId: video.consumerId });

    await alice.client.ok('pauseProducer', { producerId: mic.producerId });
    await bob.client.notification('consumerPaused', (d) => d.consumerId === audio.consumerId);
    const updated = await bob.client.notification('peerUpdated', (d) => d.peer.producers.some((p) => p.source === 'mic' && p.paused));
    assert.equal(updated.peer.id, alice.auth.peerId);

    // A third peer joining later gets consumers for what is already being produced.
    const carol = await joinedClient(room.id, room.invite, 'Carol');
    const carolVideo = await carol.client.notification('newConsumer', (d) => d.producerId === cam.producerId);
    assert.equal(carolVideo.producerPaused, false);

    await alice.client.ok('leave');
    const left = await bob.client.notification('peerLeft');
    assert.equal(left.peerId, alice.auth.peerId);
    await bob.client.notification('consumerClosed', (d) => d.consumerId === video.consumerId);
    assert.equal(await alice.client.closedPromise, 1000);
    bob.client.close();
    carol.client.close();
  });

  it('the room closes after its grace period once the last peer leaves', async () => {
    const room = await createRoom(server);
    const alice = await joinedClient(room.id, room.invite, 'Alice');
    const live = server.app.registry.get(room.id);
    assert.ok(live, 'room is open while someone is in it');
    const routerClosed = new Promise<void>((resolve) => live.router.observer.once('close', () => resolve()));
    alice.client.close();
    await routerClosed;
    assert.equal(live.closed, true);
    assert.equal(server.app.registry.get(room.id), undefined);
  });

  it('room.close() tells every peer, closes their transports and the router, then emits "closed"', async () => {
    const room = await createRoom(server);
    const alice = await joinedClient(room.id, room.invite, 'Alice');
    const live = server.app.registry.get(room.id)!;
    const peer = [...live.peers.values()][0]!;
    const transports = [...peer.transports.values()];
    let emitted = false;
    live.on('closed', () => (emitted = true));
    await live.close();
    const closing = await alice.client.notification('closing');
    assert.equal(closing.code, 'ROOM_CLOSED');
    assert.ok(transports.every((t) => t.closed));
    assert.equal(live.router.closed, true);
    assert.equal(emitted, true);
    await alice.client.closedPromise;
  });

  it('a second session of the same person replaces the first', async () => {
    const room = await createRoom(server);
    const token = await guestToken(server, room.id, room.invite, 'Dana');
    const first = await SignalClient.connect(server.wsUrl);
    await first.ok('authenticate', { token });
    const second = await SignalClient.connect(server.wsUrl);
    await second.ok('authenticate', { token });
    const closing = await first.notification('closing');
    assert.equal(closing.code, 'REPLACED');
    assert.equal(await first.closedPromise, 4002);
    second.close();
  });

  describe('bad input gets an error code and never breaks the room', () => {
    const violations: Array<[string, (c: SignalClient, sendId: string) => void, string]> = [
      ['malformed JSON', (c) => c.sendRaw('{not json'), 'BAD_MESSAGE'],
      ['an oversized frame', (c) => c.sendRaw(JSON.stringify({ id: 90, type: 'produce', data: { junk: 'x'.repeat(MAX_SIGNAL_MESSAGE_BYTES) } })), 'MESSAGE_TOO_LARGE'],
      ['a binary frame', (c) => c.sendRaw(Buffer.from([1, 2, 3])), 'BAD_MESSAGE'],
      ['an unknown message type', (c) => c.sendRaw(JSON.stringify({ id: 1, type: 'launchRockets', data: {} })), 'UNKNOWN_MESSAGE'],
      [
        'a message of the wrong shape',
        (c, sendId) => c.sendRaw(JSON.stringify({ id: 2, type: 'produce', data: { transportId: sendId, kind: 'smell', rtpParameters: {}, source: 'mic' } })),
        'BAD_MESSAGE',
      ],
      [
        'an extra property inside rtpParameters',
        (c, sendId) =>
          c.sendRaw(JSON.stringify({ id: 3, type: 'produce', data: { transportId: sendId, kind: 'audio', rtpParameters: { ...OPUS_PARAMETERS, evil: {} }, source: 'mic' } })),
        'BAD_MESSAGE',
      ],
      [
        'deeply nested rtpCapabilities (once crashed the process inside mediasoup)',
        (c) => c.sendRaw(`{"id":4,"type":"join","data":{"rtpCapabilities":{"codecs":[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"parameters":{"x":${'['.repeat(5000)}${']'.repeat(5000)}}}]}}}`),
        'BAD_MESSAGE',
      ],
      ['a __proto__ key', (c) => c.sendRaw('{"id":5,"type":"leave","data":{"__proto__":{"polluted":true}}}'), 'BAD_MESSAGE'],
    ];
    for (const [name, send, code] of violations) {
      it(`${name} is answered with ${code}, the socket closes at once (4001), and the room goes on`, async () => {
        const room = await createRoom(server);
        const alice = await joinedClient(room.id, room.invite, 'Alice');
        const bob = await joinedClient(room.id, room.invite, 'Bob');
        send(alice.client, alice.send.id);
        const reply = await alice.client.waitFor((m) => m.kind === 'error');
        assert.equal(reply.kind === 'error' && reply.error.code, code);
        assert.equal(await alice.client.closedPromise, 4001);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        // The others are unaffected: Bob still produces, and sees Alice leave.
        await bob.client.notification('peerLeft');
        const mic = await bob.client.ok('produce', { transportId: bob.send.id, kind: 'audio', rtpParameters: OPUS_PARAMETERS, source: 'mic' });
        assert.ok(mic.producerId);
        bob.client.close();
      });
    }

    it('requests the protocol allows but the room refuses are answered and the session goes on', async () => {
      const room = await createRoom(server);
      const alice = await joinedClient(room.id, room.invite, 'Alice');
      const c = alice.client;

      const refused = await c.request('produce', {
        transportId: alice.send.id,
        kind: 'video',
        rtpParameters: { codecs: [{ mimeType: 'video/NOPE', payloadType: 96, clockRate: 90000 }] },
        source: 'camera',
      });
      assert.equal(refused.kind === 'error' && refused.error.code, 'BAD_MESSAGE');

      const missing = await c.request('resumeConsumer', { consumerId: 'does-not-exist' });
      assert.equal(missing.kind === 'error' && missing.error.code, 'CONSUMER_NOT_FOUND');

      const guestLive = await c.request('startBroadcast', { destinationIds: ['d1'] });
      assert.equal(guestLive.kind === 'error' && guestLive.error.code, 'FORBIDDEN');

      // Still fully usable afterwards.
      const mic = await c.ok('produce', { transportId: alice.send.id, kind: 'audio', rtpParameters: OPUS_PARAMETERS, source: 'mic' });
      assert.ok(mic.producerId);
      assert.equal(c.closeCode, null);
      c.close();
    });

    it('anything before authenticate is refused and the socket closed at once', async () => {
      const c = await SignalClient.connect(server.wsUrl);
      const started = Date.now();
      const reply = await c.request('createTransport', { direction: 'send' });
      assert.equal(reply.kind === 'error' && reply.error.code, 'NOT_AUTHENTICATED');
      assert.equal(await c.closedPromise, 4001);
      // Not the 10 s authentication timeout.
      assert.ok(Date.now() - started < 5000);
    });

    for (const [name, makeToken, code] of [
      ['a forged token', () => jwt.sign({ typ: 'room', sub: 'x', role: 'host', room: 'r', name: 'Mallory' }, 'not-the-server-secret'), 'TOKEN_INVALID'],
      ['garbage', () => 'abc.def.ghi', 'TOKEN_INVALID'],
      ['a session token instead of a room token', (s: TestServer) => s.adminToken, 'TOKEN_INVALID'],
    ] as const) {
      it(`authenticate with ${name} is refused with ${code}`, async () => {
        const c = await SignalClient.connect(server.wsUrl);
        const reply = await c.request('authenticate', { token: makeToken(server) });
        assert.equal(reply.kind === 'error' && reply.error.code, code);
        assert.equal(await c.closedPromise, 4001);
      });
    }

    it('an expired room token is refused with TOKEN_EXPIRED', async () => {
      const room = await createRoom(server);
      const token = server.app.tokens.sign({ typ: 'room', sub: 'guest:1', role: 'guest', room: room.id, name: 'Late' }, 1);
      await new Promise((r) => setTimeout(r, 1100));
      const c = await SignalClient.connect(server.wsUrl);
      const reply = await c.request('authenticate', { token });
      assert.equal(reply.kind === 'error' && reply.error.code, 'TOKEN_EXPIRED');
    });

    it("another room's token is refused with WRONG_ROOM", async () => {
      const a = await createRoom(server, 'A');
      const b = await createRoom(server, 'B');
      const token = await guestToken(server, a.id, a.invite, 'Eve');
      const c = await SignalClient.connect(server.wsUrl);
      const reply = await c.request('authenticate', { token, roomId: b.id });
      assert.equal(reply.kind === 'error' && reply.error.code, 'WRONG_ROOM');
    });

    it('a token for a deleted room is refused with ROOM_NOT_FOUND', async () => {
      const room = await createRoom(server);
      const token = await guestToken(server, room.id, room.invite, 'Finn');
      await server.app.inject({ method: 'DELETE', url: `/api/rooms/${room.id}`, headers: { authorization: `Bearer ${server.adminToken}` } });
      const c = await SignalClient.connect(server.wsUrl);
      const reply = await c.request('authenticate', { token });
      assert.equal(reply.kind === 'error' && reply.error.code, 'ROOM_NOT_FOUND');
    });
  });
});
