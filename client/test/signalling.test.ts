import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignalConnection, type Notification } from '../src/services/signalling';
import { AUTH } from './fakes';

/** A WebSocket (fake) the test plays the server through. */
class FakeSocket {
  static OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 1;
  readonly sent: Array<{ id: number; type: string }> = [];
  private listeners = new Map<string, Array<(ev: unknown) => void>>();
  constructor(readonly url: string) {
    FakeSocket.last = this;
    setTimeout(() => this.emit('open', {}), 0);
  }
  addEventListener(type: string, fn: (ev: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  removeEventListener(type: string, fn: (ev: unknown) => void): void {
    this.listeners.set(type, (this.listeners.get(type) ?? []).filter((f) => f !== fn));
  }
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  close(): void {
    this.readyState = 3;
  }
  emit(type: string, ev: unknown): void {
    for (const fn of this.listeners.get(type) ?? []) fn(ev);
  }
  /** The server sends a message. */
  serverSends(msg: unknown): void {
    this.emit('message', { data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
}

describe('incoming messages are checked against the shared protocol schemas', () => {
  const original = globalThis.WebSocket;
  beforeEach(() => {
    (globalThis as { WebSocket: unknown }).WebSocket = FakeSocket;
  });
  afterEach(() => {
    (globalThis as { WebSocket: unknown }).WebSocket = original;
  });

  async function connected() {
    const conn = await SignalConnection.connect('ws://test/ws');
    const socket = FakeSocket.last!;
    return { conn, socket };
  }

  it('a response that matches its schema resolves the request', async () => {
    const { conn, socket } = await connected();
    const reply = conn.request('authenticate', { token: 't' });
    socket.serverSends({ kind: 'response', id: socket.sent[0]!.id, type: 'authenticate', data: AUTH });
    await expect(reply).resolves.toMatchObject({ peerId: 'me', roomName: 'Standup' });
  });

  it.each([
    ['a missing field', { ...AUTH, peerId: undefined }],
    ['a wrong type', { ...AUTH, role: 'superuser' }],
    ['an unknown extra field', { ...AUTH, extra: true }],
  ])('a response with %s is refused as BAD_REPLY', async (_what, data) => {
    const { conn, socket } = await connected();
    const reply = conn.request('authenticate', { token: 't' });
    socket.serverSends({ kind: 'response', id: socket.sent[0]!.id, type: 'authenticate', data });
    await expect(reply).rejects.toMatchObject({ code: 'BAD_REPLY' });
  });

  it('an error reply rejects with its code and plain words', async () => {
    const { conn, socket } = await connected();
    const reply = conn.request('authenticate', { token: 't' });
    socket.serverSends({ kind: 'error', id: socket.sent[0]!.id, error: { code: 'WRONG_ROOM', message: 'other room' } });
    await expect(reply).rejects.toMatchObject({ code: 'WRONG_ROOM' });
  });

  it('notifications that match are delivered; malformed ones and unknown events are dropped', async () => {
    const { conn, socket } = await connected();
    const got: Notification[] = [];
    conn.onNotification((n) => got.push(n));
    socket.serverSends({ kind: 'notification', event: 'peerLeft', data: { peerId: 'p1' } });
    socket.serverSends({ kind: 'notification', event: 'peerLeft', data: { peer: 'p1' } });
    socket.serverSends({ kind: 'notification', event: 'launchRockets', data: {} });
    socket.serverSends('not json');
    socket.serverSends({ kind: 'notification', event: 'activeSpeaker', data: { peerId: null } });
    expect(got.map((n) => n.event)).toEqual(['peerLeft', 'activeSpeaker']);
  });
});
