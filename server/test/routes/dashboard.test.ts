import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { auth, createRoom, guestToken, startServer, type TestServer } from '../helpers.js';

const HOUR = 3600_000;

describe('REST: users, destinations, webinars, history (roles and validation)', () => {
  let server: TestServer;
  let rtmp: RtmpServer;
  let hostToken: string;
  let hostId: string;
  let otherHostToken: string;

  async function call(method: string, url: string, token?: string, payload?: unknown) {
    const res = await server.app.inject({ method: method as 'GET', url, ...(token ? { headers: auth(token) } : {}), ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  }
  const admin = () => server.adminToken;

  async function createDestination(name: string, streamKey: string, serverUrl = rtmp.rtmpUrl('live')) {
    const res = await call('POST', '/api/destinations', admin(), { name, platform: 'custom', serverUrl, streamKey });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; name: string };
  }

  function webinarBody(overrides: Record<string, unknown> = {}) {
    return {
      title: 'Launch day',
      startsAt: new Date(Date.now() + HOUR).toISOString(),
      endsAt: new Date(Date.now() + 2 * HOUR).toISOString(),
      timeZone: 'Europe/Paris',
      hostIds: [hostId],
      destinationIds: [],
      ...overrides,
    };
  }

  before(async () => {
    rtmp = await startRtmpServer();
    server = await startServer({}, undefined, { schedulerIntervalMs: 0 });
    for (const [email, name] of [['host@test.local', 'Hal Host'], ['other@test.local', 'Olga Other']] as const) {
      const created = await call('POST', '/api/users', admin(), { email, name, password: 'host-password', role: 'host' });
      assert.equal(created.status, 201);
      const login = await call('POST', '/api/auth/login', undefined, { email, password: 'host-password' });
      if (email.startsWith('host')) {
        hostToken = login.body.token;
        hostId = created.body.id;
      } else otherHostToken = login.body.token;
    }
  });
  after(async () => {
    await server.close();
    await rtmp.stop();
  });

  describe('users', () => {
    it('only admins list and create users; a duplicate email is refused', async () => {
      assert.equal((await call('GET', '/api/users', admin())).body.length, 3);
      const denied = await call('GET', '/api/users', hostToken);
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error.code, 'FORBIDDEN');
      assert.equal((await call('POST', '/api/users', hostToken, { email: 'x@y.z', name: 'X', password: 'password1', role: 'admin' })).status, 403);
      const dup = await call('POST', '/api/users', admin(), { email: 'HOST@test.local', name: 'Dup', password: 'password1', role: 'host' });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.error.code, 'EMAIL_TAKEN');
      const weak = await call('POST', '/api/users', admin(), { email: 'w@test.local', name: 'W', password: 'short', role: 'host' });
      assert.equal(weak.body.error.code, 'VALIDATION_FAILED');
    });

    it('a disabled host can neither sign in nor use an existing session; an admin cannot disable themself', async () => {
      const created = await call('POST', '/api/users', admin(), { email: 'temp@test.local', name: 'Tem', password: 'temp-password', role: 'host' });
      const login = await call('POST', '/api/auth/login', undefined, { email: 'temp@test.local', password: 'temp-password' });
      assert.equal((await call('PATCH', `/api/users/${created.body.id}`, admin(), { disabled: true })).body.disabled, true);
      assert.equal((await call('GET', '/api/rooms', login.body.token)).body.error.code, 'USER_DISABLED');
      assert.equal((await call('POST', '/api/auth/login', undefined, { email: 'temp@test.local', password: 'temp-password' })).body.error.code, 'USER_DISABLED');
      const me = await call('GET', '/api/auth/me', admin());
      assert.equal((await call('PATCH', `/api/users/${me.body.id}`, admin(), { disabled: true })).body.error.code, 'CANNOT_DISABLE_SELF');
    });

    it("a guest's room token is not a session: it cannot manage anything", async () => {
      const room = await createRoom(server);
      const guest = await guestToken(server, room.id, room.invite, 'Gina');
      assert.equal((await call('GET', '/api/destinations', guest)).body.error.code, 'TOKEN_INVALID');
      assert.equal((await call('POST', '/api/webinars', guest, webinarBody())).body.error.code, 'TOKEN_INVALID');
    });
  });

  describe('destinations', () => {
    it('admins create destinations whose key is masked everywhere; hosts may only list them, for a room they host', async () => {
      const d = await call('POST', '/api/destinations', admin(), { name: 'YouTube', platform: 'youtube', serverUrl: 'rtmp://a.rtmp.youtube.com/live2', streamKey: 'abcd-1234-efgh-5678' });
      assert.equal(d.status, 201);
      assert.equal(d.body.streamKeyMasked, '••••5678');
      assert.equal(JSON.stringify(d.body).includes('abcd-1234'), false);
      assert.equal((await call('GET', '/api/destinations', hostToken)).status, 403);
      const hostsRoom = await call('POST', '/api/rooms', hostToken, { name: 'Host room' });
      const listed = await call('GET', `/api/rooms/${hostsRoom.body.id}/destinations`, hostToken);
      assert.equal(listed.status, 200);
      assert.ok(listed.body.some((x: { id: string }) => x.id === d.body.id));
      assert.equal(JSON.stringify(listed.body).includes('abcd-1234'), false);
      assert.equal((await call('POST', '/api/destinations', hostToken, { name: 'X', platform: 'custom', serverUrl: 'rtmp://x/app', streamKey: 'k' })).status, 403);
      assert.equal((await call('DELETE', `/api/destinations/${d.body.id}`, hostToken)).status, 403);
      const renamed = await call('PATCH', `/api/destinations/${d.body.id}`, admin(), { name: 'YouTube main' });
      assert.equal(renamed.body.name, 'YouTube main');
    });

    for (const serverUrl of ['http://example.com/live', 'rtmp://', 'rtmp:///app', 'not a url', 'rtmp://host.example']) {
      it(`refuses the server URL "${serverUrl}" with INVALID_RTMP_URL`, async () => {
        const res = await call('POST', '/api/destinations', admin(), { name: 'Bad', platform: 'custom', serverUrl, streamKey: 'k' });
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'INVALID_RTMP_URL');
        assert.ok(res.body.error.message.length > 10);
      });
    }

    it('Test pushes a short stream and reports success, or the refusal in plain words', async () => {
      const good = await createDestination('Local', 'test-good-key');
      const ok = await call('POST', `/api/destinations/${good.id}/test`, admin());
      assert.equal(ok.body.ok, true, ok.body.message);
      assert.equal(rtmp.publishCount('test-good-key'), 1);

      rtmp.rejectKeys.add('test-bad-key');
      const bad = await createDestination('Refusing', 'test-bad-key');
      const refused = await call('POST', `/api/destinations/${bad.id}/test`, admin());
      assert.equal(refused.body.ok, false);
      assert.match(refused.body.message, /refused|rejected|denied/i);
      assert.equal(refused.body.message.includes('test-bad-key'), false, 'the key is not echoed');

      const unreachable = await createDestination('Nowhere', 'k-nowhere', 'rtmp://127.0.0.1:1/live');
      const down = await call('POST', `/api/destinations/${unreachable.id}/test`, admin());
      assert.equal(down.body.ok, false);
      assert.match(down.body.message, /connect|refused|reach/i);
    });
  });

  describe('webinars', () => {
    it('admins schedule; hosts see only the webinars they host, with join links', async () => {
      const d = await createDestination('For webinar', 'key-webinar-1');
      const created = await call('POST', '/api/webinars', admin(), webinarBody({ destinationIds: [d.id], description: 'Big launch' }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.status, 'scheduled');
      assert.equal(created.body.autoStart, true);
      assert.match(created.body.panelistUrl, /\/join\/r\w+\?invite=/);
      assert.match(created.body.hostUrl, /\/join\/r\w+$/);
      assert.equal((await call('POST', '/api/webinars', hostToken, webinarBody())).status, 403);
      const mine = await call('GET', '/api/webinars', hostToken);
      assert.ok(mine.body.some((w: { id: string }) => w.id === created.body.id));
      const theirs = await call('GET', '/api/webinars', otherHostToken);
      assert.equal(theirs.body.some((w: { id: string }) => w.id === created.body.id), false);
      assert.equal((await call('GET', `/api/webinars/${created.body.id}`, otherHostToken)).status, 404);
    });

    it("a webinar's vertical program: recorded only when asked, its layout and size default to automatic and 720x1280; all kept and editable", async () => {
      const plain = await call('POST', '/api/webinars', admin(), webinarBody({ title: 'Landscape only', record: true }));
      assert.equal(plain.status, 201, JSON.stringify(plain.body));
      assert.deepEqual([plain.body.record, plain.body.recordVertical, plain.body.verticalLayout, plain.body.verticalResolution], [true, false, 'auto', '720p']);
      const both = await call('PATCH', `/api/webinars/${plain.body.id}`, admin(), { recordVertical: true, verticalLayout: 'stack', verticalResolution: '1080p' });
      assert.equal(both.status, 200, JSON.stringify(both.body));
      const stored = (await call('GET', `/api/webinars/${plain.body.id}`, admin())).body;
      assert.deepEqual([stored.recordVertical, stored.verticalLayout, stored.verticalResolution], [true, 'stack', '1080p']);
      for (const bad of [{ recordVertical: 'yes' }, { verticalLayout: 'sideways' }, { verticalResolution: '4k' }]) {
        assert.equal((await call('PATCH', `/api/webinars/${plain.body.id}`, admin(), bad)).body.error.code, 'VALIDATION_FAILED', JSON.stringify(bad));
      }
    });

    for (const [what, overrides, code] of [
      ['end before start', { endsAt: new Date(Date.now() + HOUR / 2).toISOString() }, 'SCHEDULE_INVALID'],
      ['a start in the past', { startsAt: new Date(Date.now() - HOUR).toISOString() }, 'SCHEDULE_INVALID'],
      ['an unknown time zone', { timeZone: 'Mars/Olympus' }, 'SCHEDULE_INVALID'],
      ['an unknown destination', { destinationIds: ['dnope'] }, 'UNKNOWN_DESTINATION'],
      ['an unknown host', { hostIds: ['unope'] }, 'UNKNOWN_USER'],
      ['a malformed date', { startsAt: 'tomorrow' }, 'VALIDATION_FAILED'],
    ] as const) {
      it(`refuses ${what} with ${code}`, async () => {
        const res = await call('POST', '/api/webinars', admin(), webinarBody(overrides));
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
      });
    }

    it('refuses the same stream key in two overlapping webinars, and allows it when they do not overlap', async () => {
      const a = await createDestination('Twitch A', 'shared-key-123');
      const b = await createDestination('Twitch B (same key)', 'shared-key-123');
      const first = await call('POST', '/api/webinars', admin(), webinarBody({ title: 'First', destinationIds: [a.id] }));
      assert.equal(first.status, 201);
      const clash = await call('POST', '/api/webinars', admin(), webinarBody({ title: 'Second', destinationIds: [b.id] }));
      assert.equal(clash.status, 409);
      assert.equal(clash.body.error.code, 'STREAM_KEY_CONFLICT');
      assert.match(clash.body.error.message, /First/);
      const later = await call('POST', '/api/webinars', admin(), webinarBody({ title: 'Later', destinationIds: [b.id], startsAt: new Date(Date.now() + 3 * HOUR).toISOString(), endsAt: new Date(Date.now() + 4 * HOUR).toISOString() }));
      assert.equal(later.status, 201);
      // Moving it onto the first one's window is refused too.
      const moved = await call('PATCH', `/api/webinars/${later.body.id}`, admin(), { startsAt: webinarBody().startsAt, endsAt: webinarBody().endsAt });
      assert.equal(moved.body.error.code, 'STREAM_KEY_CONFLICT');
    });

    it('deleting a destination an upcoming webinar uses is refused, or with force removes it and warns', async () => {
      const d = await createDestination('Soon gone', 'key-soon-gone');
      const w = await call('POST', '/api/webinars', admin(), webinarBody({ title: 'Uses it', destinationIds: [d.id], startsAt: new Date(Date.now() + 5 * HOUR).toISOString(), endsAt: new Date(Date.now() + 6 * HOUR).toISOString() }));
      const refused = await call('DELETE', `/api/destinations/${d.id}`, admin());
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'DESTINATION_IN_USE');
      assert.match(refused.body.error.message, /Uses it/);
      assert.equal((await call('DELETE', `/api/destinations/${d.id}?force=true`, admin())).status, 204);
      const after = await call('GET', `/api/webinars/${w.body.id}`, admin());
      assert.deepEqual(after.body.destinationIds, []);
      assert.match(after.body.warnings[0], /Soon gone.*deleted/);
    });

    it('cancelling keeps the webinar as cancelled and it can no longer be edited', async () => {
      const w = await call('POST', '/api/webinars', admin(), webinarBody({ title: 'Called off' }));
      const cancelled = await call('POST', `/api/webinars/${w.body.id}/cancel`, admin());
      assert.equal(cancelled.body.status, 'cancelled');
      const edit = await call('PATCH', `/api/webinars/${w.body.id}`, admin(), { title: 'Back on' });
      assert.equal(edit.body.error.code, 'SCHEDULE_INVALID');
      assert.equal((await call('POST', `/api/webinars/${w.body.id}/cancel`, hostToken)).status, 403);
    });
  });

  it('history needs a session; hosts see only their own broadcasts', async () => {
    assert.equal((await call('GET', '/api/broadcasts')).status, 401);
    assert.equal((await call('GET', '/api/broadcasts', hostToken)).status, 200);
  });

  it('serves the OpenAPI description at /docs', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(res.statusCode, 200);
    const spec = res.json();
    for (const path of ['/api/webinars', '/api/destinations/{id}/test', '/api/users', '/api/broadcasts', '/api/rooms/{id}/join']) {
      assert.ok(spec.paths[path], `documents ${path}`);
    }
  });
});
