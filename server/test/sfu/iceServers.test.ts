import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { iceServersFor, turnCredentials } from '../../src/sfu/iceServers.js';
import { createRoom, guestToken, SignalClient, startServer, type TestServer } from '../helpers.js';

describe("TURN credentials follow coturn's shared-secret scheme", () => {
  // Expected credentials computed independently: printf '%s' "$username" | openssl dgst -sha1 -hmac "$secret" -binary | base64
  for (const { secret, id, expiresAt, username, credential } of [
    { secret: 'north-secret-0123456789', id: 'peer-1', expiresAt: 1_700_000_000, username: '1700000000:peer-1', credential: 'X43JA7oYUoJ5T0XO5b8Z/iTodZo=' },
    { secret: 'another shared secret!', id: 'peer-1', expiresAt: 1_700_000_000, username: '1700000000:peer-1', credential: '6mr9qfmg0uQkI5pt7a6LqIroziE=' },
    { secret: 'north-secret-0123456789', id: '', expiresAt: 86_400, username: '86400:', credential: 'GJfw/YZnGa5A6uXeviea/u5i75s=' },
    {
      secret: 'north-secret-0123456789',
      id: '9b2f6c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b',
      expiresAt: 4_102_444_800.75, // fractions of a second are dropped
      username: '4102444800:9b2f6c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b',
      credential: 'Df+GW07bk0SKygQkAUcmsV77vAs=',
    },
  ]) {
    it(`username "${username}" with secret "${secret}" → ${credential}`, () => {
      assert.deepEqual(turnCredentials(secret, id, expiresAt), { username, credential });
    });
  }

  it('a participant gets every TURN URL with credentials that expire TURN_TTL_SECONDS from now', () => {
    const turn = { urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:443?transport=tcp'], secret: 'north-secret-0123456789', ttlSeconds: 3600 };
    assert.deepEqual(iceServersFor(turn, 'peer-1', 1_699_996_400_000), [
      { urls: turn.urls, username: '1700000000:peer-1', credential: 'X43JA7oYUoJ5T0XO5b8Z/iTodZo=' },
    ]);
  });

  it('a participant gets no ICE servers when TURN is not configured', () => {
    assert.deepEqual(iceServersFor(null, 'peer-1'), []);
  });
});

describe('the authenticate answer carries the participant its TURN servers', () => {
  const secret = 'the-turn-shared-secret';
  let plain: TestServer;
  let withTurn: TestServer;
  before(async () => {
    plain = await startServer();
    withTurn = await startServer({ TURN_URLS: 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp', TURN_SECRET: secret, TURN_TTL_SECONDS: '600' });
  });
  after(async () => {
    await plain?.close();
    await withTurn?.close();
  });

  async function authenticate(server: TestServer): Promise<{ peerId: string; iceServers: Array<{ urls: string[]; username: string; credential: string }> }> {
    const room = await createRoom(server);
    const token = await guestToken(server, room.id, room.invite, 'Tess');
    const client = await SignalClient.connect(server.wsUrl);
    try {
      return await client.ok('authenticate', { token });
    } finally {
      client.close();
    }
  }

  it('without TURN_URLS a participant gets no iceServers', async () => {
    const auth = await authenticate(plain);
    assert.deepEqual(auth.iceServers, []);
  });

  it('with TURN_URLS and TURN_SECRET a participant gets credentials for its own peer id that coturn would accept', async () => {
    const before = Math.floor(Date.now() / 1000);
    const auth = await authenticate(withTurn);
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(auth.iceServers.length, 1);
    const [server] = auth.iceServers;
    assert.deepEqual(server?.urls, ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp']);
    const [expiry, id] = (server?.username ?? '').split(':');
    assert.equal(id, auth.peerId);
    assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= after + 600, `expiry ${expiry} is 600 s from now`);
    assert.equal(server?.credential, createHmac('sha1', secret).update(server?.username ?? '').digest('base64'));
  });
});
