import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startRtmpServer, type RtmpServer } from './fixtures/rtmpServer.js';
import { startOnAir, type RunningServer } from './fixtures/server.js';

type Message = { kind: string; id?: number; event?: string; data?: any; error?: { code: string; message: string } };

/** A host's signalling connection, just enough to go live (no media: the broadcast shows its slate). */
class Host {
  readonly messages: Message[] = [];
  #next = 1;
  #waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  readonly closed: Promise<number>;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as Message;
      this.messages.push(m);
      this.#waiters = this.#waiters.filter((w) => !(w.match(m) && (w.resolve(m), true)));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static async connect(url: string): Promise<Host> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Host(ws);
  }

  waitFor(match: (m: Message) => boolean, timeoutMs = 30_000): Promise<Message> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(this.messages.slice(-3))}`)), timeoutMs);
      this.#waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  async ok(type: string, data: unknown = {}): Promise<any> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, type, data }));
    const reply = await this.waitFor((m) => (m.kind === 'response' || m.kind === 'error') && m.id === id);
    if (reply.kind !== 'response') throw new Error(`${type} failed: ${JSON.stringify(reply)}`);
    return reply.data;
  }
}

describe('SIGTERM ends live broadcasts cleanly (real OnAir process, real nginx RTMP)', () => {
  let rtmp: RtmpServer;
  let onair: RunningServer;
  before(async () => {
    rtmp = await startRtmpServer();
    onair = await startOnAir();
  });
  after(async () => {
    await onair?.close();
    await rtmp?.stop();
  });

  it('stops each destination with an end of stream, exits 0, and the history says the broadcast stopped because the server shut down', async () => {
    const token = await onair.adminToken();
    const keys = [`shutdown-a-${randomBytes(4).toString('hex')}`, `shutdown-b-${randomBytes(4).toString('hex')}`];
    const destinationIds: string[] = [];
    for (const [i, streamKey] of keys.entries()) {
      const res = await onair.api<{ id: string }>('POST', '/api/destinations', { name: `Sink ${i + 1}`, platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey }, token);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      destinationIds.push(res.body.id);
    }
    const room = await onair.api<{ id: string }>('POST', '/api/rooms', { name: 'Goes down live' }, token);
    const join = await onair.api<{ token: string }>('POST', `/api/rooms/${room.body.id}/join`, { displayName: 'Host' }, token);
    const host = await Host.connect(`ws://127.0.0.1:${onair.port}/ws`);
    const authed = await host.ok('authenticate', { token: join.body.token, roomId: room.body.id });
    await host.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
    await host.ok('startBroadcast', { destinationIds });
    await host.waitFor((m) => m.event === 'broadcast' && m.data?.broadcast?.destinations?.every((d: { state: string }) => d.state === 'live'));
    for (const key of keys) assert.equal(rtmp.activePublishes(key), 1, `nginx has the publish of ${key}`);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // live for a moment, as a real broadcast would be

    const exit = await onair.stop();
    assert.deepEqual({ code: exit?.code, signal: exit?.signal }, { code: 0, signal: null }, onair.output());
    assert.ok(exit!.ms < 8000, `exited ${exit!.ms} ms after SIGTERM`);

    // The host saw the broadcast end, then the server restarting (so the client reconnects).
    const ended = host.messages.findIndex((m) => m.event === 'broadcast' && m.data?.broadcast === null);
    const closing = host.messages.findIndex((m) => m.event === 'closing');
    assert.ok(ended >= 0, `the host was told the broadcast ended: ${JSON.stringify(host.messages.map((m) => [m.kind, m.event ?? m.id, m.data?.broadcast?.state ?? m.data?.code]))}`);
    assert.equal(host.messages[closing]?.data?.code, 'SERVER_RESTARTING');
    assert.ok(ended < closing, 'the broadcast ended before the room closed');
    await host.closed;

    // nginx's on_publish_done for each publish (sent when the stream is deleted or the connection ends).
    const deadline = Date.now() + 5000;
    while (keys.some((k) => rtmp.activePublishes(k) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const key of keys) assert.equal(rtmp.activePublishes(key), 0, `nginx saw the publish of ${key} end`);
    assert.doesNotMatch(onair.output(), /destination failed|shutdown took over|shutdown failed/);

    await onair.restart();
    const history = await onair.api<Array<{ roomId: string; state: string; stoppedAt: string | null; destinations: Array<Record<string, unknown>> }>>(
      'GET',
      '/api/broadcasts',
      undefined,
      await onair.adminToken(),
    );
    const record = history.body.find((b) => b.roomId === room.body.id);
    assert.ok(record, 'the broadcast is in the history');
    assert.equal(record.state, 'stopped');
    assert.ok(record.stoppedAt, 'with the time it stopped');
    assert.deepEqual(
      record.destinations.map((d) => ({ destinationId: d.destinationId, outcome: d.outcome, stopReason: d.stopReason })).sort((a, b) => String(a.destinationId).localeCompare(String(b.destinationId))),
      [...destinationIds].sort().map((destinationId) => ({ destinationId, outcome: 'stopped', stopReason: 'The server shut down.' })),
    );
    assert.ok(record.destinations.every((d) => Number(d.liveSeconds) > 0), `each destination was live for a while: ${JSON.stringify(record.destinations)}`);
  });
});
