import { ServerMessageSchema, type NotificationData, type NotificationEvent, type ServerMessage } from '@onair/shared';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { buildApp, type App, type BuildOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';

export const ADMIN = { email: 'admin@test.local', password: 'correct horse battery' };

export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  dataDir: string;
  adminToken: string;
  close(): Promise<void>;
}

/** A real OnAir server (real mediasoup worker, SQLite in a temp dir) on 127.0.0.1, random ports. */
export async function startServer(env: Record<string, string> = {}, dataDir?: string, options: BuildOptions = {}): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'onair-test-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    MEDIASOUP_WORKERS: '1',
    // Each worker takes a free media port (unless the test asks for a port range), so test
    // servers running side by side never collide.
    ...(env.RTC_MIN_PORT || env.RTC_MAX_PORT ? {} : { RTC_PORT: '0' }),
    ROOM_GRACE_MS: '200',
    // No RTMP ingest listener unless a test asks for one (servers side by side would all want 1935).
    INGEST_RTMP_PORT: '0',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const { app } = await buildApp(config, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
  const adminToken: string = login.json().token;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    dataDir: dir,
    adminToken,
    async close() {
      await app.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function auth(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** Creates a room as the admin and returns its id and the invite from its join link. */
export async function createRoom(server: TestServer, name = 'Standup'): Promise<{ id: string; invite: string; joinUrl: string }> {
  const res = await server.app.inject({ method: 'POST', url: '/api/rooms', headers: auth(server.adminToken), payload: { name } });
  const room = res.json();
  const invite = new URL(room.joinUrl).searchParams.get('invite') ?? '';
  return { id: room.id, invite, joinUrl: room.joinUrl };
}

export async function guestToken(server: TestServer, roomId: string, invite: string, displayName: string): Promise<string> {
  const res = await server.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/join`, payload: { displayName, invite } });
  if (res.statusCode !== 200) throw new Error(`join failed: ${res.body}`);
  return res.json().token;
}

/** A room token for the admin as one of the room's hosts. */
export async function hostToken(server: TestServer, roomId: string, displayName = 'Hana Host'): Promise<string> {
  const res = await server.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/join`, headers: auth(server.adminToken), payload: { displayName } });
  if (res.statusCode !== 200) throw new Error(`join failed: ${res.body}`);
  return res.json().token;
}

/** The admin in the room as a host, over a real socket: authenticated and joined (no transports). */
export async function hostInRoom(server: TestServer, roomId: string, displayName = 'Host'): Promise<SignalClient> {
  const token = await hostToken(server, roomId, displayName);
  const client = await SignalClient.connect(server.wsUrl);
  const authed = await client.ok('authenticate', { token, roomId });
  await client.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
  return client;
}

/** Takes a connected socket into the room as a participant: authenticate, both transports, join. */
export async function joinRoom(client: SignalClient, token: string, roomId: string) {
  const authed = await client.ok('authenticate', { token, roomId });
  const send = await client.ok('createTransport', { direction: 'send' });
  await client.ok('createTransport', { direction: 'recv' });
  const join = await client.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
  return { auth: authed, send, join };
}

const checkServerMessage = TypeCompiler.Compile(ServerMessageSchema);

/**
 * A signalling client speaking the shared protocol over a real WebSocket. Every message the
 * server sends is asserted against the shared ServerMessage schema: one that does not match fails
 * the test that waits next (and close()).
 */
export class SignalClient {
  private nextId = 1;
  readonly messages: ServerMessage[] = [];
  private waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void; reject: (e: Error) => void }> = [];
  closeCode: number | null = null;
  readonly closedPromise: Promise<number>;
  /** The first server message that broke the protocol's schema, if any. */
  violation: Error | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as ServerMessage;
      if (!this.violation && !checkServerMessage.Check(msg)) {
        const first = checkServerMessage.Errors(msg).First();
        this.violation = new Error(`the server sent a message outside the protocol (${first?.path ?? ''}: ${first?.message ?? ''}): ${raw.toString().slice(0, 400)}`);
        for (const w of this.waiters) w.reject(this.violation);
        this.waiters = [];
      }
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
    this.closedPromise = new Promise((resolve) => ws.on('close', (code) => resolve((this.closeCode = code))));
  }

  static async connect(url: string): Promise<SignalClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new SignalClient(ws);
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Sends a request and resolves with its response or error message. */
  async request(type: string, data: unknown = {}, timeoutMs = 10_000): Promise<ServerMessage> {
    const id = this.nextId++;
    const reply = this.waitFor((m) => (m.kind === 'response' || m.kind === 'error') && m.id === id, timeoutMs);
    this.ws.send(JSON.stringify({ id, type, data }));
    return reply;
  }

  /** Like request() but throws on an error reply and returns the data. */
  async ok<T = any>(type: string, data: unknown = {}): Promise<T> {
    const reply = await this.request(type, data);
    if (reply.kind !== 'response') throw new Error(`${type} failed: ${JSON.stringify(reply)}`);
    return reply.data as T;
  }

  waitFor(match: (m: ServerMessage) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    if (this.violation) return Promise.reject(this.violation);
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async notification<E extends NotificationEvent>(event: E, where: (d: NotificationData[E]) => boolean = () => true, timeoutMs = 10_000): Promise<NotificationData[E]> {
    const m = await this.waitFor((x) => x.kind === 'notification' && x.event === event && where(x.data as NotificationData[E]), timeoutMs);
    return (m as Extract<ServerMessage, { kind: 'notification' }>).data as NotificationData[E];
  }

  close(): void {
    this.ws.close();
    if (this.violation) throw this.violation;
  }
}

export const OPUS_PARAMETERS = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc: 11111111 }],
  headerExtensions: [],
  rtcp: { cname: 'test' },
};

export const VP8_PARAMETERS = {
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'ccm', parameter: 'fir' }] }],
  encodings: [{ ssrc: 22222222 }],
  headerExtensions: [],
  rtcp: { cname: 'test' },
};
