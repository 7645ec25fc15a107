import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeMediaPorts } from '../../../e2e/fixtures/ports.js';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/app.js';
import { MediaPortUnavailable } from '../../src/sfu/WorkerPool.js';
import { createRoom, guestToken, SignalClient, startServer, type TestServer } from '../helpers.js';

interface Candidate {
  protocol: 'udp' | 'tcp';
  port: number;
  address: string;
}

/** Joins a fresh room as `count` participants and returns every ICE candidate their transports were given. */
async function candidatesOfRoom(server: TestServer, count: number): Promise<Candidate[]> {
  const room = await createRoom(server, `Room ${Math.random()}`);
  const all: Candidate[] = [];
  const clients: SignalClient[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = await SignalClient.connect(server.wsUrl);
      clients.push(client);
      await client.ok('authenticate', { token: await guestToken(server, room.id, room.invite, `P${i}`) });
      for (const direction of ['send', 'recv']) {
        const t = await client.ok<{ iceCandidates: Candidate[] }>('createTransport', { direction });
        all.push(...t.iceCandidates);
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
  return all;
}

function portsOf(candidates: Candidate[]): { udp: number[]; tcp: number[] } {
  const unique = (protocol: 'udp' | 'tcp') => [...new Set(candidates.filter((c) => c.protocol === protocol).map((c) => c.port))];
  return { udp: unique('udp'), tcp: unique('tcp') };
}

describe('one media port per worker (RTC_PORT)', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('worker i listens on UDP and TCP RTC_PORT + i, and every transport of its rooms gives out only that port', async () => {
    const port = await freeMediaPorts(2);
    const server = await startServer({ RTC_PORT: String(port), MEDIASOUP_WORKERS: '2' });
    servers.push(server);
    assert.deepEqual(server.app.pool.mediaPorts, [
      { udp: port, tcp: port },
      { udp: port + 1, tcp: port + 1 },
    ]);
    // Rooms go to the least loaded worker: the first room to worker 0, the second to worker 1.
    const first = await candidatesOfRoom(server, 3);
    const second = await candidatesOfRoom(server, 2);
    assert.equal(first.length, 3 * 2 * 2, 'a UDP and a TCP candidate for each of 6 transports');
    assert.deepEqual(portsOf(first), { udp: [port], tcp: [port] });
    assert.deepEqual(portsOf(second), { udp: [port + 1], tcp: [port + 1] });
    assert.ok(first.every((c) => c.address === '127.0.0.1'));
  });

  it('RTC_ANNOUNCED_ADDRESS is what the candidates announce', async () => {
    const server = await startServer({ RTC_ANNOUNCED_ADDRESS: '203.0.113.7' });
    servers.push(server);
    const candidates = await candidatesOfRoom(server, 1);
    assert.deepEqual([...new Set(candidates.map((c) => c.address))], ['203.0.113.7']);
    const [ports] = server.app.pool.mediaPorts;
    assert.deepEqual(portsOf(candidates), { udp: [ports?.udp], tcp: [ports?.tcp] });
  });

  it('a second server on the same RTC_PORT refuses to start and names the port', async () => {
    const port = await freeMediaPorts(1);
    const server = await startServer({ RTC_PORT: String(port) });
    servers.push(server);
    const dataDir = mkdtempSync(join(tmpdir(), 'onair-test-'));
    try {
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', MEDIASOUP_WORKERS: '1', RTC_PORT: String(port), ADMIN_PASSWORD: 'long enough password', INGEST_RTMP_PORT: '0' });
      await assert.rejects(buildApp(config), (e: unknown) => e instanceof MediaPortUnavailable && e.message.includes(`port ${port}`) && e.message.includes('RTC_PORT'));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a worker that dies is replaced by one listening on the same port', async () => {
    const port = await freeMediaPorts(1);
    const server = await startServer({ RTC_PORT: String(port) });
    servers.push(server);
    const { pool } = server.app;
    const dead = pool.workers[0]!.pid;
    process.kill(dead, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (pool.workers[0]!.pid === dead || pool.workers[0]!.closed) {
      assert.ok(Date.now() < deadline, 'the worker was not replaced within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(pool.mediaPorts, [{ udp: port, tcp: port }]);
    assert.deepEqual(portsOf(await candidatesOfRoom(server, 1)), { udp: [port], tcp: [port] });
  });

  it('with RTC_MIN_PORT/RTC_MAX_PORT every transport takes its own ports from the range, as before', async () => {
    const min = 45_000 + Math.floor(Math.random() * 40) * 100;
    const server = await startServer({ RTC_MIN_PORT: String(min), RTC_MAX_PORT: String(min + 99) });
    servers.push(server);
    assert.deepEqual(server.app.pool.mediaPorts, [null]);
    const candidates = await candidatesOfRoom(server, 2);
    assert.ok(candidates.every((c) => c.port >= min && c.port <= min + 99), JSON.stringify(candidates));
    assert.equal(portsOf(candidates).udp.length, 4, 'four transports, four UDP ports');
  });
});
