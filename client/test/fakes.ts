/**
 * Fakes for the client's unit tests (the real server and browser run in the e2e tests): a
 * signalling connection answered by a script, and minimal tracks and producers.
 */
import type { Notification, SignalConnection } from '../src/services/signalling';
import { SignalError } from '../src/services/signalling';

type Answer = unknown | SignalError | ((data: unknown) => unknown | SignalError | Promise<unknown>);

/** A SignalConnection (fake) whose answers come from a table; tests push notifications and closes. */
export class FakeConnection {
  readonly sent: Array<{ type: string; data: unknown }> = [];
  closed = false;
  private notificationListeners = new Set<(n: Notification) => void>();
  private closeListeners = new Set<(info: { code: number; reason: string; byClient: boolean; serverError: null }) => void>();

  constructor(private readonly answers: Record<string, Answer>) {}

  async request(type: string, data: unknown): Promise<unknown> {
    this.sent.push({ type, data });
    if (this.closed) throw new SignalError('CONNECTION_LOST', 'Connection lost.');
    const answer = this.answers[type];
    const value = typeof answer === 'function' ? await (answer as (d: unknown) => unknown)(data) : answer;
    if (value instanceof SignalError) throw value;
    return value ?? {};
  }

  onNotification(listener: (n: Notification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  onClose(listener: (info: { code: number; reason: string; byClient: boolean; serverError: null }) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  notify(n: Notification): void {
    for (const l of this.notificationListeners) l(n);
  }

  /** The server (or the network) closes the socket. */
  drop(code = 1006, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l({ code, reason, byClient: false, serverError: null });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l({ code: 1000, reason: 'client closed', byClient: true, serverError: null });
  }

  asConnection(): SignalConnection {
    return this as unknown as SignalConnection;
  }
}

export const AUTH = {
  peerId: 'me',
  roomId: 'r1',
  roomName: 'Standup',
  role: 'guest' as const,
  displayName: 'Me',
  routerRtpCapabilities: { codecs: [], headerExtensions: [] },
  iceServers: [],
};

/** A resolvable promise, to hold a request's answer until the test lets it go. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export class FakeTrack {
  readyState: 'live' | 'ended' = 'live';
  enabled = true;
  contentHint = '';
  private listeners: Array<() => void> = [];
  constructor(readonly kind: 'audio' | 'video') {}
  stop(): void {
    this.readyState = 'ended';
  }
  addEventListener(_: 'ended', fn: () => void): void {
    this.listeners.push(fn);
  }
  end(): void {
    this.readyState = 'ended';
    for (const fn of this.listeners) fn();
  }
}

export class FakeProducer {
  paused = false;
  closed = false;
  constructor(
    readonly id: string,
    readonly source: string,
  ) {}
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {
    this.closed = true;
  }
}
