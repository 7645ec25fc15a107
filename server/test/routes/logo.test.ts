import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOGO_MAX_BYTES } from '@onair/shared';
import { auth, createRoom, startServer, type TestServer } from '../helpers.js';
import { makePng } from '../compositor/pngFixture.js';

describe('PUT /api/rooms/:id/broadcast/logo', () => {
  let server: TestServer;
  let dir: string;
  let room: { id: string; invite: string };
  const put = (payload: Buffer | string | object, headers: Record<string, string>) =>
    server.app.inject({ method: 'PUT', url: `/api/rooms/${room.id}/broadcast/logo`, headers, payload: payload as Buffer });

  before(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'onair-logo-rest-'));
    room = await createRoom(server, 'Logo');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a room's host uploads a PNG: accepted (the room is not live: kept for its next broadcast)", async () => {
    const res = await put(makePng(dir, 'red@0.8', '200x100'), { ...auth(server.adminToken), 'content-type': 'image/png' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { broadcast: null });
    const del = await server.app.inject({ method: 'DELETE', url: `/api/rooms/${room.id}/broadcast/logo`, headers: auth(server.adminToken) });
    assert.equal(del.statusCode, 200, del.body);
  });

  it('the logo and its corner outlive a restart of OnAir, and GET shows them (for the webinar form)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'onair-logo-restart-'));
    try {
      let first: TestServer | null = await startServer({}, dataDir);
      const r = await createRoom(first, 'Kept logo');
      const png = makePng(dir, 'red@0.8', '120x60');
      const up = await first.app.inject({
        method: 'PUT', url: `/api/rooms/${r.id}/broadcast/logo?corner=bottom-left`,
        headers: { ...auth(first.adminToken), 'content-type': 'image/png' }, payload: png,
      });
      assert.equal(up.statusCode, 200, up.body);
      await first.close();
      first = null;

      const second = await startServer({}, dataDir);
      try {
        const got = await second.app.inject({ method: 'GET', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(second.adminToken) });
        assert.equal(got.statusCode, 200, got.body);
        const { logo } = got.json();
        assert.equal(logo.corner, 'bottom-left');
        assert.equal(logo.bytes, png.length);
        assert.ok(Buffer.from(logo.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64').equals(png), 'the PNG comes back as uploaded');

        const moved = await second.app.inject({ method: 'PATCH', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(second.adminToken), payload: { corner: 'top-left' } });
        assert.equal(moved.statusCode, 200, moved.body);
        const again = await second.app.inject({ method: 'GET', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(second.adminToken) });
        assert.equal(again.json().logo.corner, 'top-left');

        // Uploading again without a corner keeps the corner.
        await second.app.inject({
          method: 'PUT', url: `/api/rooms/${r.id}/broadcast/logo`,
          headers: { ...auth(second.adminToken), 'content-type': 'image/png' }, payload: makePng(dir, 'blue', '40x40'),
        });
        assert.equal((await second.app.inject({ method: 'GET', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(second.adminToken) })).json().logo.corner, 'top-left');

        await second.app.inject({ method: 'DELETE', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(second.adminToken) });
        assert.deepEqual((await second.app.inject({ method: 'GET', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(second.adminToken) })).json(), { logo: null });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('moving a logo the room does not have says so (404 LOGO_NOT_FOUND); a corner that is not one is refused (400)', async () => {
    const r = await createRoom(server, 'No logo');
    const res = await server.app.inject({ method: 'PATCH', url: `/api/rooms/${r.id}/broadcast/logo`, headers: auth(server.adminToken), payload: { corner: 'top-left' } });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().error.code, 'LOGO_NOT_FOUND');
    assert.match(res.json().error.message, /Upload a PNG first/);
    const bad = await server.app.inject({
      method: 'PUT', url: `/api/rooms/${r.id}/broadcast/logo?corner=middle`,
      headers: { ...auth(server.adminToken), 'content-type': 'image/png' }, payload: makePng(dir, 'red', '16x16'),
    });
    assert.equal(bad.statusCode, 400, bad.body);
  });

  const refusals: Array<[string, () => Buffer | string | object, string, number, string, RegExp]> = [
    ['a GIF sent as image/png', () => Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), 'image/png', 400, 'LOGO_INVALID', /must be a PNG image/],
    ['a PNG signature followed by garbage', () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]), 'image/png', 400, 'LOGO_INVALID', /could not be read as a PNG/],
    ['a truncated PNG', () => makePng(dir, 'blue', '64x64').subarray(0, 60), 'image/png', 400, 'LOGO_INVALID', /could not be read as a PNG/],
    ['a PNG over 512 kB', () => Buffer.concat([makePng(dir, 'green', '64x64'), Buffer.alloc(LOGO_MAX_BYTES)]), 'image/png', 413, 'LOGO_TOO_LARGE', /at most 512 kB/],
    ['JSON instead of the image', () => ({ logo: 'x' }), 'application/json', 400, 'LOGO_INVALID', /as a PNG image/],
  ];
  for (const [name, body, type, status, code, words] of refusals) {
    it(`refuses ${name} in plain words (${status} ${code})`, async () => {
      const res = await put(body(), { ...auth(server.adminToken), 'content-type': type });
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().error.code, code);
      assert.match(res.json().error.message, words);
    });
  }

  it("a host of another room may not set this room's logo (403), and nobody signed out may (401)", async () => {
    const created = await server.app.inject({
      method: 'POST', url: '/api/users', headers: auth(server.adminToken),
      payload: { email: 'other-host@test.local', name: 'Other host', password: 'host-password', role: 'host' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const login = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'other-host@test.local', password: 'host-password' } });
    const png = makePng(dir, 'red', '32x32');
    const res = await put(png, { ...auth(login.json().token), 'content-type': 'image/png' });
    assert.equal(res.statusCode, 403, res.body);
    assert.equal((await put(png, { 'content-type': 'image/png' })).statusCode, 401);
  });
});
