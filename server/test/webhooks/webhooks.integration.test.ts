import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { OnAirEvent, type Webhook, type WebhookDelivery } from '@onair/shared';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../../../e2e/fixtures/webhookReceiver.js';
import { auth, createRoom, hostInRoom, startServer, type TestServer } from '../helpers.js';

const checkEvent = TypeCompiler.Compile(OnAirEvent);
const MIN = 60_000;

async function waitFor<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const eventOf = (d: ReceivedDelivery): OnAirEvent => {
  assert.ok(checkEvent.Check(d.json), `not an OnAir event: ${d.body.slice(0, 300)}`);
  return d.json;
};

describe('webhooks (real server, real broadcast to nginx-rtmp, a receiver on 127.0.0.1 that checks every signature)', { timeout: 240_000 }, () => {
  let server: TestServer;
  let rtmp: RtmpServer;
  let receiver: WebhookReceiver;
  let now = Date.now();
  const clock = { now: () => now };
  const secrets = new Map<string, string>();
  const endpoints = new Map<string, string>();

  async function call<T = any>(method: string, url: string, payload?: unknown, token = server.adminToken): Promise<{ status: number; body: T }> {
    const res = await server.app.inject({ method: method as 'GET', url, headers: auth(token), ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : (null as T) };
  }
  async function register(path: string, description: string): Promise<string> {
    const res = await call<{ webhook: Webhook; secret: string }>('POST', '/api/webhooks', { url: receiver.url(path), description });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    secrets.set(path, res.body.secret);
    endpoints.set(path, res.body.webhook.id);
    return res.body.webhook.id;
  }
  const at = (path: string) => receiver.received.filter((d) => d.path === path);
  const events = (path: string, type?: string) => at(path).map(eventOf).filter((e) => !type || e.type === type);
  const deliveries = async (path: string): Promise<WebhookDelivery[]> =>
    (await call<Webhook[]>('GET', '/api/webhooks')).body.find((w) => w.id === endpoints.get(path))?.deliveries ?? [];

  before(async () => {
    rtmp = await startRtmpServer();
    receiver = await startWebhookReceiver();
    server = await startServer({}, undefined, { clock, schedulerIntervalMs: 0 });
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
    await rtmp?.stop();
  });

  it('admins register an endpoint: the secret is shown once (then masked), revealable and rotatable; hosts may not', async () => {
    const id = await register('/events', 'Our ops bot');
    const secret = secrets.get('/events') ?? '';
    assert.match(secret, /^whsec_[\w-]{43}$/);
    const list = await call<Webhook[]>('GET', '/api/webhooks');
    assert.equal(list.body[0]?.secretMasked, `whsec_••••${secret.slice(-4)}`);
    assert.equal(JSON.stringify(list.body).includes(secret), false, 'the list never holds the secret');
    assert.equal((await call<{ secret: string }>('GET', `/api/webhooks/${id}/secret`)).body.secret, secret);
    const rotated = await call<{ secret: string }>('POST', `/api/webhooks/${id}/secret`);
    assert.notEqual(rotated.body.secret, secret);
    secrets.set('/events', rotated.body.secret);
    receiver.secrets.set('/events', rotated.body.secret);

    await call('POST', '/api/users', { email: 'hook-host@test.local', name: 'Host', password: 'host-password-1', role: 'host' });
    const login = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'hook-host@test.local', password: 'host-password-1' } });
    const hostToken: string = login.json().token;
    assert.equal((await call('GET', '/api/webhooks', undefined, hostToken)).status, 403);
    assert.equal((await call('POST', '/api/webhooks', { url: receiver.url('/x') }, hostToken)).status, 403);
    assert.equal((await call('GET', `/api/webhooks/${id}/secret`, undefined, hostToken)).status, 403);
  });

  it('a URL that is not http(s) is refused in plain words, on create and on edit', async () => {
    const bad = await call<{ error: { code: string; message: string } }>('POST', '/api/webhooks', { url: 'ftp://example.com/hook' });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'INVALID_WEBHOOK_URL']);
    assert.match(bad.body.error.message, /must start with http:\/\/ or https:\/\//);
    const id = endpoints.get('/events') ?? '';
    const edit = await call<{ error: { code: string } }>('PATCH', `/api/webhooks/${id}`, { url: 'https://user:pw@example.com/' });
    assert.deepEqual([edit.status, edit.body.error.code], [400, 'INVALID_WEBHOOK_URL']);
    assert.equal((await call('POST', '/api/webhooks', { url: 'https://example.com/', extra: 1 })).status, 400);
  });

  it('Test delivery sends a signed webhook.test now and answers with the delivery, which the list then shows', async () => {
    const id = endpoints.get('/events') ?? '';
    const res = await call<WebhookDelivery>('POST', `/api/webhooks/${id}/test`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.ok, res.body.statusCode, res.body.attempt, res.body.event, res.body.willRetry], [true, 200, 1, 'webhook.test', false]);
    assert.ok(res.body.latencyMs !== null && res.body.latencyMs >= 0);
    const got = at('/events').at(-1);
    assert.ok(got?.signatureValid, 'signed with the (rotated) secret');
    assert.equal(got.headers['onair-event'], 'webhook.test');
    assert.equal(got.headers['onair-event-id'], eventOf(got).id);
    assert.equal((await deliveries('/events'))[0]?.id, res.body.id);
  });

  it('a live broadcast with one refused destination: every event is signed and well formed; the refusal arrives in plain words; stop and the recording follow; a slow endpoint blocks nothing', async () => {
    await register('/flaky', 'Answers 500 the first time');
    await register('/wrong-secret', 'Verifies with the wrong secret');
    await register('/hang', 'Never answers');
    receiver.secrets.set('/flaky', secrets.get('/flaky') ?? '');
    receiver.secrets.set('/wrong-secret', 'whsec_not-the-secret-this-endpoint-was-given');
    receiver.secrets.set('/hang', secrets.get('/hang') ?? '');
    const failedOnce = new Set<string>();
    receiver.respond = (d) => {
      if (d.path === '/hang') return null;
      if (!d.signatureValid) return 401;
      const id = (d.json as { id?: string } | null)?.id ?? '';
      if (d.path === '/flaky' && !failedOnce.has(id)) {
        failedOnce.add(id);
        return 500;
      }
      return 200;
    };

    rtmp.rejectKeys.add('hook-refused-key');
    const good = await call<{ id: string }>('POST', '/api/destinations', { name: 'Local', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'hook-good-key' });
    const refused = await call<{ id: string }>('POST', '/api/destinations', { name: 'Refusing', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'hook-refused-key' });
    const room = await createRoom(server, 'Webhook room');
    const client = await hostInRoom(server, room.id);
    await client.ok('startBroadcast', { destinationIds: [good.body.id, refused.body.id], record: true });
    await client.notification('broadcast', (d) => d.broadcast?.destinations.find((x) => x.destinationId === good.body.id)?.state === 'live', 30_000);
    await waitFor('the refusal to reach the endpoint', () =>
      events('/events', 'destination.state_changed').find((e) => e.type === 'destination.state_changed' && e.data.destinationId === refused.body.id && e.data.error),
    );
    const stopStarted = performance.now();
    await client.ok('stopBroadcast');
    const stopMs = performance.now() - stopStarted;
    assert.ok(stopMs < 8000, `stopping took ${Math.round(stopMs)} ms with an endpoint that never answers`);
    await waitFor('broadcast.stopped and recording.ready', () => events('/events', 'broadcast.stopped').length === 1 && events('/events', 'recording.ready').length === 1);
    client.close();

    // Every delivery to the right secret verifies; the wrong secret is detected on every one.
    const ours = at('/events').filter((d) => eventOf(d).type !== 'webhook.test');
    assert.ok(ours.length >= 5, `${ours.length} events`);
    assert.ok(ours.every((d) => d.signatureValid), 'every event is signed with the endpoint secret');
    for (const d of ours) {
      const e = eventOf(d);
      assert.equal(d.headers['onair-event'], e.type);
      assert.equal(d.headers['onair-event-id'], e.id);
      assert.match(String(d.headers['onair-signature']), /^t=\d+,v1=[0-9a-f]{64}$/);
    }
    const wrong = at('/wrong-secret');
    assert.ok(wrong.length >= 5 && wrong.every((d) => !d.signatureValid && d.status === 401), 'a receiver with the wrong secret refuses every delivery');
    const wrongRows = await deliveries('/wrong-secret');
    assert.ok(wrongRows.every((r) => !r.ok && r.statusCode === 401 && r.attempt === 1 && !r.willRetry && r.error === 'The endpoint answered 401 Unauthorized.'), JSON.stringify(wrongRows[0]));

    const kinds = events('/events').map((e) => e.type);
    assert.equal(kinds.filter((k) => k !== 'webhook.test')[0], 'broadcast.started');
    const started = events('/events', 'broadcast.started')[0];
    assert.ok(started?.type === 'broadcast.started');
    assert.deepEqual(started.data.destinations.map((d) => d.name).sort(), ['Local', 'Refusing']);
    assert.equal(started.data.recording, true);
    const changes = events('/events', 'destination.state_changed').flatMap((e) => (e.type === 'destination.state_changed' ? [e.data] : []));
    const refusal = changes.find((c) => c.destinationId === refused.body.id && c.state === 'retrying');
    assert.match(refusal?.error ?? '', /refused the stream key/);
    assert.equal(JSON.stringify(changes).includes('hook-refused-key'), false, 'no stream key in any event');
    assert.ok(changes.some((c) => c.destinationId === good.body.id && c.previousState === 'connecting' && c.state === 'live'));
    const stopped = events('/events', 'broadcast.stopped')[0];
    assert.ok(stopped?.type === 'broadcast.stopped');
    assert.equal(stopped.data.destinations.find((d) => d.destinationId === good.body.id)?.outcome, 'stopped');
    assert.ok(stopped.data.durationSeconds > 1);
    const ready = events('/events', 'recording.ready')[0];
    assert.ok(ready?.type === 'recording.ready');
    assert.equal(ready.data.file, stopped.data.recordingFile);
    assert.equal(ready.data.program, 'landscape');
    assert.ok(existsSync(ready.data.file) ? statSync(ready.data.file).size > 0 : ready.data.bytes > 0);

    // The flaky endpoint: a 500, then the same event again about a second later, which succeeds.
    const startedId = started.id;
    await waitFor('the retry of broadcast.started', () => at('/flaky').filter((d) => eventOf(d).id === startedId).length === 2, 10_000);
    const [first, second] = at('/flaky').filter((d) => eventOf(d).id === startedId);
    assert.deepEqual([first?.status, second?.status], [500, 200]);
    assert.deepEqual([first?.headers['onair-delivery-attempt'], second?.headers['onair-delivery-attempt']], ['1', '2']);
    const gap = (second?.at ?? 0) - (first?.at ?? 0);
    assert.ok(gap >= 800 && gap < 3000, `retried after ${gap} ms (1 s backoff)`);
    const rows = (await deliveries('/flaky')).filter((r) => r.eventId === startedId).reverse();
    assert.deepEqual(rows.map((r) => [r.attempt, r.ok, r.statusCode, r.willRetry]), [[1, false, 500, true], [2, true, 200, false]]);
    assert.equal(rows[0]?.error, 'The endpoint answered 500 Internal Server Error.');
    console.log(`events: ${kinds.join(', ')}; stop took ${Math.round(stopMs)} ms; flaky retry after ${gap} ms`);
  });

  it('webinars: webinar.live and webinar.ended on schedule, webinar.missed when its window passed', async () => {
    receiver.respond = (d) => (d.signatureValid ? 200 : 401);
    const destination = await call<{ id: string }>('POST', '/api/destinations', { name: 'Webinar RTMP', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'hook-webinar-key' });
    const roomOf = new Map<string, string>();
    const webinar = async (title: string, startIn: number, endIn: number) => {
      const created = await call<{ id: string; roomId: string }>('POST', '/api/webinars', {
        title,
        startsAt: new Date(now + startIn * MIN).toISOString(),
        endsAt: new Date(now + endIn * MIN).toISOString(),
        timeZone: 'UTC',
        destinationIds: [destination.body.id],
        verticalLayout: 'single',
        verticalResolution: '1080p',
      });
      roomOf.set(created.body.id, created.body.roomId);
      return created.body.id;
    };
    const missed = await webinar('Nobody came', 1, 2);
    const onAir = await webinar('On air', 4, 8);
    now += 3 * MIN;
    await server.app.scheduler.tick();
    await waitFor('webinar.missed', () => events('/events', 'webinar.missed').find((e) => e.type === 'webinar.missed' && e.data.webinarId === missed));
    now += 2 * MIN;
    await server.app.scheduler.tick();
    await waitFor('webinar.live', () => events('/events', 'webinar.live').find((e) => e.type === 'webinar.live' && e.data.webinarId === onAir));
    const scheduled = await waitFor('the scheduled broadcast.started', () =>
      events('/events', 'broadcast.started').find((e) => e.type === 'broadcast.started' && e.data.webinarId === onAir),
    );
    assert.ok(scheduled.type === 'broadcast.started' && scheduled.data.trigger === 'scheduled');
    // The schedule starts the broadcast with the webinar's own settings, its vertical program's too.
    const vertical = server.app.broadcasts.liveStatus(roomOf.get(onAir) ?? '')?.vertical;
    assert.deepEqual([vertical?.layout, vertical?.resolution, vertical?.encoding], ['single', '1080p', false]);
    now += 5 * MIN;
    await server.app.scheduler.tick();
    const ended = await waitFor('webinar.ended', () => events('/events', 'webinar.ended').find((e) => e.type === 'webinar.ended' && e.data.webinarId === onAir));
    assert.ok(ended.type === 'webinar.ended' && ended.data.title === 'On air' && ended.data.status === 'ended');
    await waitFor('the scheduled broadcast.stopped', () => events('/events', 'broadcast.stopped').find((e) => e.type === 'broadcast.stopped' && e.data.webinarId === onAir));
    assert.ok(at('/events').every((d) => d.signatureValid));
  });

  it('deleting an endpoint stops its deliveries', async () => {
    const id = endpoints.get('/wrong-secret') ?? '';
    assert.equal((await call('DELETE', `/api/webhooks/${id}`)).status, 204);
    assert.equal((await call('POST', `/api/webhooks/${id}/test`)).status, 404);
    const before = at('/wrong-secret').length;
    await call('POST', `/api/webhooks/${endpoints.get('/events')}/test`);
    assert.equal(at('/wrong-secret').length, before);
  });
});
