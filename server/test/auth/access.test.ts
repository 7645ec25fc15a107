import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import authPlugin from '../../src/plugins/auth.js';
import { auth, createRoom, OPUS_PARAMETERS, SignalClient, startServer, type TestServer } from '../helpers.js';

/**
 * The access model from the attacker's side: a host of another room, a guest, a disabled or
 * deleted account's old tokens, a changed password, a deleted room. Real server, real worker.
 */
describe('access model: per-room rights and revocation', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string | null, payload?: unknown) {
    const res = await server.app.inject({ method, url, ...(token ? { headers: auth(token) } : {}), ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  }

  let hostCount = 0;
  /** A new host account and its session token. */
  async function newHost(): Promise<{ id: string; email: string; password: string; token: string }> {
    const email = `host${++hostCount}@test.local`;
    const password = 'host password 123';
    const created = await call('POST', '/api/users', server.adminToken, { email, name: `Host ${hostCount}`, password, role: 'host' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const login = await call('POST', '/api/auth/login', null, { email, password });
    return { id: created.body.id, email, password, token: login.body.token };
  }

  /** Joins a room over REST then WebSocket; returns the socket and the role the server gave. */
  async function enter(roomId: string, sessionToken: string | null, invite?: string) {
    const join = await call('POST', `/api/rooms/${roomId}/join`, sessionToken, { displayName: 'Someone', ...(invite ? { invite } : {}) });
    assert.equal(join.status, 200, JSON.stringify(join.body));
    const client = await SignalClient.connect(server.wsUrl);
    const authed = await client.ok('authenticate', { token: join.body.token, roomId });
    await client.ok('createTransport', { direction: 'send' });
    await client.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
    return { client, role: authed.role as string, roomToken: join.body.token as string };
  }

  function errorCode(m: { kind: string; error?: { code: string } }): string | undefined {
    return m.kind === 'error' ? m.error?.code : undefined;
  }

  it('a host of another room joins as a guest, needs the invite, and is refused every host action there', async () => {
    const owner = await newHost();
    const other = await newHost();
    const room = await call('POST', '/api/rooms', owner.token, { name: "Owner's room" });
    const invite = new URL(room.body.joinUrl).searchParams.get('invite') ?? '';

    const withoutInvite = await call('POST', `/api/rooms/${room.body.id}/join`, other.token, { displayName: 'Mallory' });
    assert.equal(withoutInvite.body.error.code, 'INVITE_INVALID');

    const mallory = await enter(room.body.id, other.token, invite);
    assert.equal(mallory.role, 'guest');
    for (const [type, data] of [
      ['startBroadcast', { destinationIds: ['d_x'] }],
      ['updateBroadcast', { layout: 'grid' }],
      ['stopBroadcast', {}],
    ] as const) {
      assert.equal(errorCode(await mallory.client.request(type, data)), 'FORBIDDEN', type);
    }
    assert.equal((await call('GET', `/api/rooms/${room.body.id}/destinations`, other.token)).status, 403);
    assert.equal((await call('DELETE', `/api/rooms/${room.body.id}`, other.token)).status, 403);
    assert.equal(mallory.client.closeCode, null, 'a refused host action does not end the session');

    const theOwner = await enter(room.body.id, owner.token);
    assert.equal(theOwner.role, 'host');
    assert.equal((await call('GET', `/api/rooms/${room.body.id}/destinations`, owner.token)).status, 200);
    mallory.client.close();
    theOwner.client.close();
  });

  it("a webinar's hosts are hosts of its room; removed from the webinar, their open session loses host rights at once", async () => {
    const panelHost = await newHost();
    const startsAt = new Date(Date.now() + 3600_000).toISOString();
    const endsAt = new Date(Date.now() + 7200_000).toISOString();
    const webinar = await call('POST', '/api/webinars', server.adminToken, {
      title: 'Town hall',
      startsAt,
      endsAt,
      timeZone: 'Europe/Paris',
      destinationIds: [],
      hostIds: [(await call('GET', '/api/auth/me', server.adminToken)).body.id, panelHost.id],
      autoStart: false,
    });
    assert.equal(webinar.status, 201, JSON.stringify(webinar.body));
    const session = await enter(webinar.body.roomId, panelHost.token);
    assert.equal(session.role, 'host');
    // A host action that passes the gate reaches the broadcast logic (here: an unknown destination).
    assert.notEqual(errorCode(await session.client.request('startBroadcast', { destinationIds: ['d_nope'] })), 'FORBIDDEN');

    const patched = await call('PATCH', `/api/webinars/${webinar.body.id}`, server.adminToken, { hostIds: [webinar.body.hostIds[0]] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(errorCode(await session.client.request('startBroadcast', { destinationIds: ['d_nope'] })), 'FORBIDDEN');
    session.client.close();
  });

  for (const [what, revoke, reasonWords] of [
    ['disabling the account', (id: string) => call('PATCH', `/api/users/${id}`, server.adminToken, { disabled: true }), /disabled/],
    ['changing its password', (id: string) => call('PATCH', `/api/users/${id}`, server.adminToken, { password: 'a brand new password' }), /password/],
    ['deleting the account', (id: string) => call('DELETE', `/api/users/${id}`, server.adminToken), /deleted/],
  ] as const) {
    it(`${what} closes the user's open meeting socket at once with the reason, and revokes their session and room tokens`, async () => {
      const host = await newHost();
      const room = await call('POST', '/api/rooms', host.token, { name: 'Revocable' });
      const session = await enter(room.body.id, host.token);
      const bystander = await enter(room.body.id, server.adminToken);

      const res = await revoke(host.id);
      assert.ok(res.status === 200 || res.status === 204, JSON.stringify(res.body));
      const closing = await session.client.notification('closing', () => true, 2000);
      assert.equal(closing.code, 'SESSION_REVOKED');
      assert.match(closing.message, reasonWords);
      assert.equal(await session.client.closedPromise, 4005);
      await bystander.client.notification('peerLeft');

      // The old session token is refused on every REST call...
      const me = await call('GET', '/api/auth/me', host.token);
      assert.equal(me.status >= 401 && me.status <= 403, true);
      assert.match(me.body.error.code, /SESSION_REVOKED|USER_DISABLED/);
      assert.equal((await call('GET', '/api/rooms', host.token)).status >= 401, true);
      // ...and the room token no longer opens the meeting (reconnect included).
      const again = await SignalClient.connect(server.wsUrl);
      const reply = await again.request('authenticate', { token: session.roomToken, roomId: room.body.id });
      assert.match(errorCode(reply) ?? '', /SESSION_REVOKED|USER_DISABLED/);
      assert.equal(await again.closedPromise, 4001);
      bystander.client.close();
    });
  }

  it('after a password change the user signs in with the new password and works again', async () => {
    const host = await newHost();
    await call('PATCH', `/api/users/${host.id}`, server.adminToken, { password: 'second password 456' });
    assert.equal((await call('GET', '/api/auth/me', host.token)).body.error.code, 'SESSION_REVOKED');
    const login = await call('POST', '/api/auth/login', null, { email: host.email, password: 'second password 456' });
    assert.equal(login.status, 200);
    assert.equal((await call('GET', '/api/auth/me', login.body.token)).status, 200);
  });

  it('a deleted account cannot sign in and its email can be used for a new account', async () => {
    const host = await newHost();
    assert.equal((await call('DELETE', `/api/users/${host.id}`, server.adminToken)).status, 204);
    assert.equal((await call('POST', '/api/auth/login', null, { email: host.email, password: host.password })).body.error.code, 'BAD_CREDENTIALS');
    assert.equal((await call('GET', '/api/users', server.adminToken)).body.some((u: { id: string }) => u.id === host.id), false);
    const again = await call('POST', '/api/users', server.adminToken, { email: host.email, name: 'New', password: 'new account pw', role: 'host' });
    assert.equal(again.status, 201);
    const me = (await call('GET', '/api/auth/me', server.adminToken)).body;
    assert.equal((await call('DELETE', `/api/users/${me.id}`, server.adminToken)).body.error.code, 'CANNOT_DISABLE_SELF');
  });

  it('deleting a room closes every socket in it with ROOM_CLOSED, and its room tokens stop working', async () => {
    const room = await createRoom(server, 'Doomed');
    const guest = await enter(room.id, null, room.invite);
    assert.equal((await call('DELETE', `/api/rooms/${room.id}`, server.adminToken)).status, 204);
    const closing = await guest.client.notification('closing', () => true, 2000);
    assert.equal(closing.code, 'ROOM_CLOSED');
    assert.match(closing.message, /deleted/);
    assert.equal(await guest.client.closedPromise, 4003);
    const again = await SignalClient.connect(server.wsUrl);
    assert.equal(errorCode(await again.request('authenticate', { token: guest.roomToken, roomId: room.id })), 'ROOM_NOT_FOUND');
  });

  it('an unexpected exception while serving one peer closes that peer with INTERNAL; the room, the others and the process go on (fault injected into router.canConsume)', async () => {
    const room = await createRoom(server, 'Fault');
    const alice = await enter(room.id, null, room.invite);
    const live = server.app.registry.get(room.id);
    assert.ok(live);
    const send = await alice.client.ok('createTransport', { direction: 'send' });
    await alice.client.ok('produce', { transportId: send.id, kind: 'audio', rtpParameters: OPUS_PARAMETERS, source: 'mic' });
    const original = live.router.canConsume.bind(live.router);
    live.router.canConsume = () => {
      throw new RangeError('Maximum call stack size exceeded (injected)');
    };
    try {
      // Bob joining makes the room create his consumers outside any request: that work throws.
      const join = await call('POST', `/api/rooms/${room.id}/join`, null, { displayName: 'Bob', invite: room.invite });
      const bob = await SignalClient.connect(server.wsUrl);
      const authed = await bob.ok('authenticate', { token: join.body.token, roomId: room.id });
      await bob.ok('createTransport', { direction: 'recv' });
      await bob.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
      const closing = await bob.notification('closing', () => true, 3000);
      assert.equal(closing.code, 'INTERNAL');
      assert.equal(await bob.closedPromise, 4006);
    } finally {
      live.router.canConsume = original;
    }
    // Alice is still there and served; the server answers.
    assert.equal(live.closed, false);
    assert.ok((await alice.client.ok('createTransport', { direction: 'recv' })).id);
    assert.equal((await call('GET', '/api/health', null)).status, 200);
    alice.client.close();
  });

  it('every /api route declares who may call it: an undeclared route stops the app at boot', async () => {
    const probe = Fastify();
    const { tokens, access, rooms } = server.app;
    probe.decorate('tokens', tokens).decorate('access', access).decorate('rooms', rooms);
    await probe.register(authPlugin);
    probe.get('/api/declared', { config: { auth: { roles: 'public' } } }, async () => ({}));
    await assert.rejects(
      (async () => {
        probe.get('/api/undeclared', async () => ({}));
        await probe.ready();
      })(),
      /GET \/api\/undeclared declares no config.auth/,
    );
  });
});

describe('input hardening at the REST edge', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function post(url: string, payload: unknown) {
    const res = await server.app.inject({ method: 'POST', url, headers: auth(server.adminToken), payload: payload as object });
    return { status: res.statusCode, body: res.json() };
  }

  for (const [url, body, words] of [
    ['/api/rooms', { name: '   ' }, /name must not be empty/],
    ['/api/users', { email: 'blank@test.local', name: ' \t ', password: 'long enough pw', role: 'host' }, /name must not be empty/],
    ['/api/destinations', { name: 'YT', platform: 'custom', serverUrl: 'rtmp://example.com/live', streamKey: '    ' }, /streamKey must not be empty/],
    ['/api/destinations', { name: '  ', platform: 'custom', serverUrl: 'rtmp://example.com/live', streamKey: 'key' }, /name must not be empty/],
  ] as const) {
    it(`a whitespace-only field is refused in words, and nothing is stored: POST ${url} ${JSON.stringify(body)}`, async () => {
      const before = (await server.app.inject({ method: 'GET', url, headers: auth(server.adminToken) })).json();
      const res = await post(url, body);
      assert.equal(res.status, 400);
      assert.deepEqual((await server.app.inject({ method: 'GET', url, headers: auth(server.adminToken) })).json(), before);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, words);
    });
  }

  it('surrounding spaces are trimmed before storing (a pasted stream key keeps working)', async () => {
    const res = await post('/api/destinations', { name: '  Twitch  ', platform: 'custom', serverUrl: ' rtmp://example.com/live ', streamKey: ' live_abcd1234 ' });
    assert.equal(res.status, 201);
    assert.equal(res.body.name, 'Twitch');
    assert.equal(res.body.serverUrl, 'rtmp://example.com/live');
    assert.equal(res.body.streamKeyMasked.endsWith('1234'), true);
  });

  it('a password keeps its spaces (it is taken exactly as typed)', async () => {
    const created = await post('/api/users', { email: 'spaces@test.local', name: 'Spaces', password: '  spaced out  ', role: 'host' });
    assert.equal(created.status, 201);
    const login = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'spaces@test.local', password: '  spaced out  ' } });
    assert.equal(login.statusCode, 200);
  });

  for (const startsAt of ['2026-02-30T10:00:00Z', '2030-12-01T24:00:00Z', '+275760-09-13T00:00:00Z', '0000-01-01T00:00:00Z', '2030-06-30T10:00:00+24:00']) {
    it(`a date-time the schema lets through but that is no real instant is refused in words, never a 500: ${startsAt}`, async () => {
      const res = await post('/api/webinars', { title: 'Odd time', startsAt, endsAt: '2031-01-01T10:00:00Z', timeZone: 'UTC', destinationIds: [] });
      assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${JSON.stringify(res.body)}`);
      assert.ok(res.body.error.message.length > 0);
    });
  }

  for (const [name, payload] of [
    ['nested 1,000 levels deep', `{"name":${'['.repeat(1000)}${']'.repeat(1000)}}`],
    ['with a __proto__ key', '{"name":"x","__proto__":{"admin":true}}'],
    ['not JSON', '{"name": '],
  ] as const) {
    it(`a body ${name} is refused with 400 before any handler runs`, async () => {
      const res = await server.app.inject({ method: 'POST', url: '/api/rooms', headers: { ...auth(server.adminToken), 'content-type': 'application/json' }, payload });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    });
  }
});
