import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, auth, createRoom, startServer, type TestServer } from '../helpers.js';

describe('REST: auth and rooms', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('signs in the admin created at first start, and refuses a wrong password in plain words', async () => {
    const ok = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().user.role, 'admin');
    const bad = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { ...ADMIN, password: 'nope' } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().error.code, 'BAD_CREDENTIALS');
    const me = await server.app.inject({ method: 'GET', url: '/api/auth/me', headers: auth(ok.json().token) });
    assert.equal(me.json().email, ADMIN.email);
  });

  it('refuses a malformed body with VALIDATION_FAILED', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'x' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
  });

  it('refuses forged and expired session tokens', async () => {
    const forged = await server.app.inject({ method: 'GET', url: '/api/rooms', headers: auth('eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJzZXNzaW9uIn0.AAAA') });
    assert.equal(forged.json().error.code, 'TOKEN_INVALID');
    const expired = server.app.tokens.sign({ typ: 'session', sub: 'u', role: 'admin', ver: 0 }, 1);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await server.app.inject({ method: 'GET', url: '/api/rooms', headers: auth(expired) });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'TOKEN_EXPIRED');
    const none = await server.app.inject({ method: 'GET', url: '/api/rooms' });
    assert.equal(none.json().error.code, 'UNAUTHENTICATED');
  });

  it('a host creates a room and gets a join link; a guest previews and joins with it', async () => {
    const room = await createRoom(server, 'Weekly');
    assert.match(room.joinUrl, /^http:\/\/127\.0\.0\.1:\d+\/join\/r\w+\?invite=/);
    const list = await server.app.inject({ method: 'GET', url: '/api/rooms', headers: auth(server.adminToken) });
    assert.ok(list.json().some((r: { id: string }) => r.id === room.id));

    const preview = await server.app.inject({ method: 'GET', url: `/api/rooms/${room.id}/preview?invite=${encodeURIComponent(room.invite)}` });
    assert.equal(preview.statusCode, 200);
    assert.equal(preview.json().name, 'Weekly');

    const join = await server.app.inject({ method: 'POST', url: `/api/rooms/${room.id}/join`, payload: { displayName: 'Gus', invite: room.invite } });
    assert.equal(join.statusCode, 200);
    assert.equal(join.json().role, 'guest');
    const claims = server.app.tokens.verifyRoom(join.json().token);
    assert.equal(claims.room, room.id);
    assert.equal(claims.name, 'Gus');

    const asHost = await server.app.inject({ method: 'POST', url: `/api/rooms/${room.id}/join`, headers: auth(server.adminToken), payload: { displayName: 'Ada' } });
    assert.equal(asHost.json().role, 'admin');
  });

  it('a forged or other-room invite is refused with INVITE_INVALID, an unknown room with ROOM_NOT_FOUND', async () => {
    const a = await createRoom(server, 'A');
    const b = await createRoom(server, 'B');
    const forged = await server.app.inject({ method: 'GET', url: `/api/rooms/${a.id}/preview?invite=${a.invite.slice(0, -3)}xyz` });
    assert.equal(forged.statusCode, 401);
    assert.equal(forged.json().error.code, 'INVITE_INVALID');
    const other = await server.app.inject({ method: 'POST', url: `/api/rooms/${a.id}/join`, payload: { displayName: 'Eve', invite: b.invite } });
    assert.equal(other.json().error.code, 'INVITE_INVALID');
    const missing = await server.app.inject({ method: 'GET', url: `/api/rooms/rnope/preview?invite=${a.invite}` });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'ROOM_NOT_FOUND');
  });

  it('unknown API routes answer 404 NOT_FOUND as JSON', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/api/nothing-here' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'NOT_FOUND');
  });
});
