import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { auth, createRoom, hostInRoom, startServer, type TestServer } from '../helpers.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const STREAM_KEY = 'metrics-stream-key-s3cr3t';

/** One sample line of a Prometheus text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('Prometheus metrics during a live broadcast (real ffmpeg, real nginx RTMP)', () => {
  let server: TestServer;
  let rtmp: RtmpServer;
  let destinationId: string;
  before(async () => {
    rtmp = await startRtmpServer();
    server = await startServer({ METRICS_TOKEN, METRICS_PORT: '0' }, undefined, { schedulerIntervalMs: 0 });
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/destinations',
      headers: auth(server.adminToken),
      payload: { name: 'Local RTMP', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: STREAM_KEY },
    });
    destinationId = res.json().id;
  });
  after(async () => {
    await server.close();
    await rtmp.stop();
  });

  const scrapeMain = async (): Promise<string> => {
    const res = await server.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return res.body;
  };
  const scrapeMetricsPort = async (): Promise<string> => {
    assert.ok(server.app.metricsPort, 'METRICS_PORT=0 opened a listener');
    const res = await fetch(`http://127.0.0.1:${server.app.metricsPort}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };

  it('has the per-destination series while live, their values move between scrapes, and no stream key anywhere', async () => {
    const room = await createRoom(server, 'Metrics room');
    const client = await hostInRoom(server, room.id);
    await client.ok('startBroadcast', { destinationIds: [destinationId] });
    await client.notification('broadcast', (d) => d.broadcast?.destinations[0]?.state === 'live', 30_000);

    const destination = { destination_id: destinationId, destination_name: 'Local RTMP', platform: 'custom' };
    const first = parse(await scrapeMain());
    assert.equal(value(first, 'onair_rooms_open'), 1);
    assert.equal(value(first, 'onair_peers'), 1);
    assert.equal(value(first, 'onair_broadcasts_live'), 1);
    assert.equal(value(first, 'onair_destination_state', { ...destination, state: 'live' }), 1);
    assert.equal(value(first, 'onair_destination_state', { ...destination, state: 'retrying' }), 0);
    for (const name of [
      'onair_destination_bitrate_bits_per_second',
      'onair_destination_frames_per_second',
      'onair_destination_retries_total',
      'onair_destination_sent_bytes_total',
      'onair_destination_dropped_bytes_total',
    ]) {
      assert.notEqual(value(first, name, destination), undefined, `${name} has a series for the destination`);
    }
    for (const name of ['onair_composer_frames_per_second', 'onair_composer_frames_total', 'onair_composer_dropped_frames_total', 'onair_composer_crashes_total']) {
      assert.notEqual(value(first, name, { room: room.id }), undefined, `${name} has a series for the broadcast`);
    }
    assert.ok((value(first, 'onair_mediasoup_worker_cpu_seconds_total', { worker: '0', mode: 'user' }) ?? 0) > 0, 'worker CPU is counted');
    assert.ok((value(first, 'onair_mediasoup_worker_max_resident_memory_bytes', { worker: '0' }) ?? 0) > 1024 * 1024, 'worker memory is in bytes');
    assert.ok((value(first, 'process_resident_memory_bytes') ?? 0) > 0, 'default Node process metrics are there');

    // The status updates every 2 s; the byte counter follows the publisher's progress (every second).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const secondText = await scrapeMetricsPort();
    const second = parse(secondText);
    const bytes = (s: Sample[]) => value(s, 'onair_destination_sent_bytes_total', destination) ?? 0;
    assert.ok(bytes(first) > 0, 'bytes were sent by the first scrape');
    assert.ok(bytes(second) > bytes(first), `bytes sent grow between scrapes (${bytes(first)} → ${bytes(second)})`);
    assert.ok((value(second, 'onair_destination_bitrate_bits_per_second', destination) ?? 0) > 10_000, 'the bitrate is in bits per second');
    assert.ok((value(second, 'onair_destination_frames_per_second', destination) ?? 0) > 0);

    for (const text of [secondText, await scrapeMain()]) {
      assert.equal(text.includes(STREAM_KEY), false, 'the stream key is in no series');
      assert.equal(text.includes(rtmp.rtmpUrl('live')), false, 'nor the server URL');
    }

    await client.ok('stopBroadcast');
    const afterStop = parse(await scrapeMain());
    assert.equal(value(afterStop, 'onair_broadcasts_live'), 0);
    assert.equal(value(afterStop, 'onair_destination_sent_bytes_total', destination), undefined, 'a stopped broadcast leaves no destination series');
    client.close();
  });

  it('times HTTP requests by route pattern, never by the raw URL', async () => {
    const room = await createRoom(server, 'Timed room');
    await server.app.inject({ method: 'GET', url: `/api/rooms/${room.id}/destinations`, headers: auth(server.adminToken) });
    const text = await scrapeMain();
    const samples = parse(text);
    assert.ok(
      (value(samples, 'onair_http_request_duration_seconds_count', { method: 'GET', route: '/api/rooms/:id/destinations', status_code: '200' }) ?? 0) >= 1,
    );
    assert.equal(text.includes(room.id), false, 'no room id from a URL in a label');
  });

  it('refuses a forged, missing or session token with 401 in the API error body', async () => {
    const cases: Array<{ authorization?: string; code: string }> = [
      { authorization: 'Bearer metrics-token-0123456789abcdeX', code: 'TOKEN_INVALID' },
      { authorization: `Bearer ${server.adminToken}`, code: 'TOKEN_INVALID' },
      { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`, code: 'UNAUTHENTICATED' },
      { code: 'UNAUTHENTICATED' },
    ];
    for (const c of cases) {
      const res = await server.app.inject({ method: 'GET', url: '/metrics', headers: c.authorization ? { authorization: c.authorization } : {} });
      assert.equal(res.statusCode, 401, c.authorization);
      assert.equal(res.json().error.code, c.code);
      assert.equal(typeof res.json().error.message, 'string');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.equal(res.body.includes('onair_'), false);
    }
  });

  it('the METRICS_PORT listener serves /metrics only', async () => {
    const res = await fetch(`http://127.0.0.1:${server.app.metricsPort}/api/health`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, 'NOT_FOUND');
  });
});

describe('/metrics is off by default', () => {
  it('answers 404 in the API error body without METRICS_TOKEN and METRICS_PORT', async () => {
    const server = await startServer({}, undefined, { schedulerIntervalMs: 0 });
    try {
      assert.equal(server.app.metricsPort, null);
      for (const headers of [{}, { authorization: 'Bearer anything-at-all-0123456789' }]) {
        const res = await server.app.inject({ method: 'GET', url: '/metrics', headers });
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().error.code, 'NOT_FOUND');
      }
    } finally {
      await server.close();
    }
  });

  it('with METRICS_PORT alone, the main port still answers 404', async () => {
    const server = await startServer({ METRICS_PORT: '0' }, undefined, { schedulerIntervalMs: 0 });
    try {
      assert.equal((await server.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
      const res = await fetch(`http://127.0.0.1:${server.app.metricsPort}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^# HELP /m);
    } finally {
      await server.close();
    }
    assert.equal(server.app.metricsPort, null, 'the listener closes with the app');
  });
});

describe('METRICS_TOKEN and METRICS_PORT are validated at boot', () => {
  it('are off by default', () => {
    assert.deepEqual(loadConfig({}).metrics, { token: null, port: null });
    assert.deepEqual(loadConfig({ METRICS_TOKEN, METRICS_PORT: '9464' }).metrics, { token: METRICS_TOKEN, port: 9464 });
  });

  const bad: Array<[Record<string, string>, string]> = [
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
    [{ METRICS_TOKEN: 'has a space in it 0123456789' }, 'METRICS_TOKEN'],
    [{ METRICS_PORT: 'nine' }, 'METRICS_PORT'],
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT'],
    [{ METRICS_PORT: '8080' }, 'METRICS_PORT'],
    [{ PORT: '9000', METRICS_PORT: '9000' }, 'METRICS_PORT'],
  ];
  for (const [env, variable] of bad) {
    it(`refuses ${JSON.stringify(env)}, naming ${variable}`, () => {
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${variable}:`));
    });
  }
});
