/**
 * The signalling session of a meeting: the socket, `authenticate`, the state machine of
 * machine.ts and the reconnect policy. Each attempt to set a session up gets its own
 * AbortController: a newer attempt, a leave or a reconnect aborts the older one, whose callbacks
 * then do nothing (`signal.aborted`) and whose pending steps stop at `signal.throwIfAborted()`.
 * What a session carries (device, transports, media) is set up and torn down by the handlers.
 */
import { ref } from 'vue';
import type { ResponseData, Role } from '@onair/shared';
import { SignalConnection, type CloseInfo, type Notification } from '../../services/signalling';
import { describeError, errorWords, isCodedError } from '../../services/errors';
import { Backoff, FATAL_CODES, RECONNECT_POLICY, transition, type ReconnectPolicy, type RoomEvent, type RoomState } from './machine';
import type { SfuSession } from './useSfu';

/** A session while it is current: its socket, its abort signal, and how it reports a drop. */
export type ActiveSession = SfuSession;

export interface SessionStart {
  /** Room token from POST /api/rooms/:id/join; sent first on the socket. */
  token: string;
  /** The room this page means to enter; the server refuses a token for another one (WRONG_ROOM). */
  roomId?: string;
  /** Role the server granted; an expired guest token means "open the link again". */
  role: Role;
  /** Signed-in hosts: a fresh room token when the old one expired during a reconnect. */
  renewToken?: () => Promise<string>;
}

export interface SessionHandlers {
  /** After `authenticate`: the device, transports, join and local media of this session. */
  setUp(session: ActiveSession, auth: ResponseData['authenticate']): Promise<void>;
  /** Every notification but `closing` (which ends or drops the session here). */
  notify(session: ActiveSession, n: Exclude<Notification, { event: 'closing' }>): void;
  /** The session is gone (reconnect or end): close what it carried. */
  teardown(): void;
  /** The meeting is over for this tab. */
  ended(): void;
}

export interface SessionOptions {
  connect?: () => Promise<SignalConnection>;
  policy?: ReconnectPolicy;
  now?: () => number;
  /** Waits before a reconnect attempt; resolves early when the network comes back. */
  wait?: (ms: number) => Promise<void>;
}

function codeOf(err: unknown): string | null {
  if (err instanceof Error && err.name === 'UnsupportedError') return 'UNSUPPORTED_BROWSER';
  return isCodedError(err) ? err.code : null;
}

export function useSignalSession(handlers: SessionHandlers, sessionOptions: SessionOptions = {}) {
  const connect = sessionOptions.connect ?? (() => SignalConnection.connect());
  const policy = sessionOptions.policy ?? RECONNECT_POLICY;
  const now = sessionOptions.now ?? (() => Date.now());

  const state = ref<RoomState>('idle');
  /** Why the meeting is closed or reconnecting, in plain words; null when all is well. */
  const error = ref<string | null>(null);
  let start: SessionStart | null = null;
  let token = '';
  let current: { controller: AbortController; conn: SignalConnection | null } | null = null;
  let wake: (() => void) | null = null;

  function go(event: RoomEvent): boolean {
    const next = transition(state.value, event);
    if (next === null) return false;
    state.value = next;
    return true;
  }

  /** The socket of the current session, if one is open. */
  function connection(): SignalConnection | null {
    return current?.conn ?? null;
  }

  function sessionSignal(): AbortSignal | null {
    return current?.controller.signal ?? null;
  }

  /** Ends the current session (if any) and closes what it carried. */
  function abandon(): void {
    if (!current) return;
    const { controller, conn } = current;
    current = null;
    controller.abort();
    conn?.close();
    handlers.teardown();
  }

  /** Sets one session up: socket, authenticate, then the handlers' part. */
  async function attempt(controller: AbortController): Promise<void> {
    const { signal } = controller;
    const entry: { controller: AbortController; conn: SignalConnection | null } = { controller, conn: null };
    current = entry;
    const conn = await connect();
    if (signal.aborted) {
      conn.close();
      signal.throwIfAborted();
    }
    entry.conn = conn;
    const session: ActiveSession = { conn, signal, onLost: (why) => lost(session, why) };
    conn.onClose((info) => onSocketClosed(session, info));
    conn.onNotification((n) => onNotification(session, n));
    const roomId = start?.roomId;
    const auth = await conn.request('authenticate', roomId ? { token, roomId } : { token });
    signal.throwIfAborted();
    await handlers.setUp(session, auth);
    signal.throwIfAborted();
  }

  function words(code: string, message: string): string {
    if (code === 'TOKEN_EXPIRED' && start?.role === 'guest') return errorWords('INVITE_EXPIRED');
    return errorWords(code, message);
  }

  /** The meeting is over for this tab, with `message` (or none) shown. */
  function finish(message: string | null): void {
    wake?.();
    abandon();
    handlers.ended();
    if (state.value !== 'closed') go('end');
    error.value = message;
  }

  function lost(session: ActiveSession, why: string): void {
    if (session.signal.aborted) return;
    console.warn(`[room] connection lost: ${why}`);
    if (state.value === 'joined') void reconnect();
    // Joining or mid-reconnect: fail the attempt in progress; its caller decides what next.
    else session.conn.close(4000, why);
  }

  function onSocketClosed(session: ActiveSession, info: CloseInfo): void {
    if (session.signal.aborted || info.byClient) return;
    // Some servers put the reason code in the close frame rather than a `closing` notification.
    if (FATAL_CODES.has(info.reason)) finish(words(info.reason, ''));
    else lost(session, `socket closed (${info.code}${info.reason ? ` ${info.reason}` : ''})`);
  }

  function onNotification(session: ActiveSession, n: Notification): void {
    if (session.signal.aborted) return;
    if (n.event === 'closing') {
      // Handled now: the socket closes right after and must not look like a drop. A restarting
      // server is the exception: that is a drop, and we reconnect.
      if (n.data.code === 'SERVER_RESTARTING') lost(session, 'server restarting');
      else finish(words(n.data.code, n.data.message));
      return;
    }
    handlers.notify(session, n);
  }

  function waitForRetry(ms: number): Promise<void> {
    if (sessionOptions.wait) return sessionOptions.wait(ms);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener('online', done);
        wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      window.addEventListener('online', done); // the network is back: don't wait out the backoff
      wake = done;
    });
  }

  async function reconnect(): Promise<void> {
    if (!go('lost')) return;
    error.value = errorWords('CONNECTION_LOST');
    abandon();
    const backoff = new Backoff(policy, now());
    let renewed = false;
    while (state.value === 'reconnecting') {
      await waitForRetry(backoff.nextDelayMs);
      if (state.value !== 'reconnecting') return;
      const controller = new AbortController();
      try {
        await attempt(controller);
        go('ready');
        error.value = null;
        return;
      } catch (err) {
        if (controller.signal.aborted && state.value !== 'reconnecting') return;
        abandon();
        if (state.value !== 'reconnecting') return;
        const code = codeOf(err);
        if (code === 'TOKEN_EXPIRED' && start?.renewToken && !renewed) {
          // A signed-in host's room token ran out while away: get a new one and go again at once.
          try {
            token = await start.renewToken();
            renewed = true;
            backoff.immediately();
            continue;
          } catch (renewErr) {
            finish(describeError(renewErr));
            return;
          }
        }
        if (code && FATAL_CODES.has(code)) {
          finish(words(code, err instanceof Error ? err.message : ''));
          return;
        }
        console.warn('[room] reconnect attempt failed', err);
        if (!backoff.failed(now())) {
          finish(errorWords('RECONNECT_FAILED'));
          return;
        }
      }
    }
  }

  /** idle → joining → joined (or closed with the reason). */
  async function join(opts: SessionStart): Promise<void> {
    if (!go('join')) return;
    start = opts;
    token = opts.token;
    error.value = null;
    const controller = new AbortController();
    try {
      await attempt(controller);
      go('ready');
      error.value = null;
    } catch (err) {
      if (controller.signal.aborted) return; // left while joining
      console.error('[room] join failed', err);
      const code = codeOf(err);
      finish(code ? words(code, err instanceof Error ? err.message : '') : describeError(err));
    }
  }

  /** Leaves: the view closes at once, the server is told (briefly), then everything closes. */
  async function leave(): Promise<void> {
    if (state.value === 'idle' || state.value === 'closed') return;
    const conn = connection();
    const wasJoined = state.value === 'joined';
    current?.controller.abort(); // from here on, the socket closing is expected
    go('end');
    wake?.();
    if (conn && wasJoined) await conn.request('leave', {}, 2_000).catch(() => undefined);
    finish(null);
  }

  /** From 'closed' back to 'idle', to join again. */
  function reset(): boolean {
    if (!go('reset')) return false;
    error.value = null;
    return true;
  }

  /** The tab is going away: drop the socket now so the others see us leave at once. */
  function drop(): void {
    if (state.value === 'idle' || state.value === 'closed' || !current) return;
    current.controller.abort();
    current.conn?.close(1001, 'page hidden');
  }

  return { state, error, connection, sessionSignal, join, leave, reset, drop };
}
