import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auth, startServer, type TestServer } from '../helpers.js';

describe('ingest sources REST: who may manage them, key masking, reveal, rotation, bad input', () => {
  let server: TestServer;
  let roomId: string;
  let otherRoomId: string;
  let hostToken: string;
  let strangerToken: string;

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, token: string | null, payload?: unknown) => {
    const res = await server.app.inject({ method, url, headers: token ? auth(token) : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null, headers: res.headers };
  };
  const signIn = async (email: string, password: string) => (await call('POST', '/api/auth/login', null, { email, password })).body.token as string;

  before(async () => {
    server = await startServer({ INGEST_PUBLIC_HOST: 'onair.example.org' });
    const admin = server.adminToken;
    for (const email of ['owner@test.local', 'stranger@test.local']) {
      const created = await call('POST', '/api/users', admin, { email, name: email.split('@')[0], password: 'a long password', role: 'host' });
      assert.equal(created.status, 201);
    }
    hostToken = await signIn('owner@test.local', 'a long password');
    strangerToken = await signIn('stranger@test.local', 'a long password');
    roomId = (await call('POST', '/api/rooms', hostToken, { name: 'Show' })).body.id;
    otherRoomId = (await call('POST', '/api/rooms', admin, { name: 'Other' })).body.id;
  });

  after(async () => server?.close());

  it("the room's host adds a source: masked key, no server URL while RTMP ingest is off, state idle", async () => {
    const created = await call('POST', `/api/rooms/${roomId}/ingest`, hostToken, { name: 'Stage camera' });
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'Stage camera');
    assert.match(created.body.streamKeyMasked, /^••••[A-Za-z0-9_-]{4}$/);
    assert.equal(created.body.serverUrl, null, 'the test server runs with INGEST_RTMP_PORT=0');
    assert.equal(created.body.state, 'idle');
    const list = await call('GET', `/api/rooms/${roomId}/ingest`, hostToken);
    assert.deepEqual(list.body.map((s: { id: string }) => s.id), [created.body.id]);
  });

  it('reveal gives the full key (not cached); rotation makes a new one and the old one no longer finds the source', async () => {
    const [source] = (await call('GET', `/api/rooms/${roomId}/ingest`, hostToken)).body;
    const revealed = await call('GET', `/api/rooms/${roomId}/ingest/${source.id}/key`, hostToken);
    assert.equal(revealed.status, 200);
    assert.equal(revealed.headers['cache-control'], 'no-store');
    const key: string = revealed.body.streamKey;
    assert.match(key, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(source.streamKeyMasked, `••••${key.slice(-4)}`);
    assert.equal(JSON.stringify((await call('GET', `/api/rooms/${roomId}/ingest`, hostToken)).body).includes(key), false, 'the list never holds the key');
    // Stored sealed: the database file does not hold the key in clear.
    assert.equal(readFileSync(join(server.dataDir, 'onair.db')).includes(key), false);
    assert.equal(server.app.ingestSources.findByKey(key)?.id, source.id);

    const rotated = await call('POST', `/api/rooms/${roomId}/ingest/${source.id}/key`, hostToken);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.streamKey, key);
    assert.equal(server.app.ingestSources.findByKey(key), null, 'the old key is refused from now on');
    assert.equal(server.app.ingestSources.findByKey(rotated.body.streamKey)?.id, source.id);
  });

  it('a host of another room, an anonymous caller and a room mix-up are refused', async () => {
    const [source] = (await call('GET', `/api/rooms/${roomId}/ingest`, hostToken)).body;
    assert.equal((await call('GET', `/api/rooms/${roomId}/ingest`, strangerToken)).status, 403);
    assert.equal((await call('GET', `/api/rooms/${roomId}/ingest/${source.id}/key`, strangerToken)).status, 403);
    assert.equal((await call('POST', `/api/rooms/${roomId}/ingest`, null, { name: 'Sneaky' })).status, 401);
    // The admin may see every room, but a source is only found under its own room.
    const mixed = await call('GET', `/api/rooms/${otherRoomId}/ingest/${source.id}/key`, server.adminToken);
    assert.equal(mixed.status, 404);
    assert.equal(mixed.body.error.code, 'INGEST_SOURCE_NOT_FOUND');
    assert.equal((await call('GET', `/api/rooms/nope/ingest`, server.adminToken)).status, 404);
  });

  for (const { name, body } of [
    { name: 'an empty name', body: { name: '   ' } },
    { name: 'a name of 81 characters', body: { name: 'x'.repeat(81) } },
    { name: 'a stream key chosen by the caller', body: { name: 'Cam', streamKey: 'mine' } },
    { name: 'no body', body: undefined },
  ]) {
    it(`${name} is refused with 400 and adds nothing`, async () => {
      const before = (await call('GET', `/api/rooms/${roomId}/ingest`, hostToken)).body.length;
      const res = await call('POST', `/api/rooms/${roomId}/ingest`, hostToken, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok(res.body.error.message.length > 0);
      assert.equal((await call('GET', `/api/rooms/${roomId}/ingest`, hostToken)).body.length, before);
    });
  }

  it('delete removes the source and its key', async () => {
    const created = await call('POST', `/api/rooms/${roomId}/ingest`, server.adminToken, { name: 'Lobby' });
    const key = (await call('GET', `/api/rooms/${roomId}/ingest/${created.body.id}/key`, server.adminToken)).body.streamKey;
    assert.equal((await call('DELETE', `/api/rooms/${roomId}/ingest/${created.body.id}`, hostToken)).status, 204);
    assert.equal((await call('GET', `/api/rooms/${roomId}/ingest/${created.body.id}/key`, hostToken)).status, 404);
    assert.equal(server.app.ingestSources.findByKey(key), null);
  });
});
