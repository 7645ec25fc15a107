/**
 * The meeting's state machine and reconnect policy, as plain data and functions (no Vue, no
 * browser), so every transition is explicit and unit-tested.
 *
 *   idle ──join──▶ joining ──ready──▶ joined ──lost──▶ reconnecting ──ready──▶ joined
 *                     │                  │                  │
 *                     └──────── end ─────┴────── end ───────┴──▶ closed ──reset──▶ idle
 */

export type RoomState = 'idle' | 'joining' | 'joined' | 'reconnecting' | 'closed';

/**
 * join: the person asks to join · ready: a session is fully set up · lost: the socket or ICE
 * dropped while joined · end: left, refused, closed by the server or reconnecting gave up ·
 * reset: back to the join form.
 */
export type RoomEvent = 'join' | 'ready' | 'lost' | 'end' | 'reset';

/** Every allowed transition; anything missing here is refused. */
export const TRANSITIONS: Readonly<Record<RoomState, Partial<Record<RoomEvent, RoomState>>>> = {
  idle: { join: 'joining' },
  joining: { ready: 'joined', end: 'closed' },
  joined: { lost: 'reconnecting', end: 'closed' },
  reconnecting: { ready: 'joined', end: 'closed' },
  closed: { reset: 'idle' },
};

/** The state after `event`, or null when the event is not allowed in `state`. */
export function transition(state: RoomState, event: RoomEvent): RoomState | null {
  return TRANSITIONS[state][event] ?? null;
}

/** States in which there is (or is being set up) a session with the server. */
export function isActive(state: RoomState): boolean {
  return state === 'joining' || state === 'joined' || state === 'reconnecting';
}

/** Failures that another attempt will not fix: the meeting ends with their words. */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  'ROOM_NOT_FOUND',
  'ROOM_CLOSED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'WRONG_ROOM',
  'FORBIDDEN',
  'USER_DISABLED',
  'SESSION_REVOKED',
  'INVITE_INVALID',
  'UNAUTHENTICATED',
  'REPLACED',
  'UNSUPPORTED_BROWSER',
  'BAD_MESSAGE',
  'UNKNOWN_MESSAGE',
]);

export interface ReconnectPolicy {
  /** First retry after this long; doubles per failure. */
  firstDelayMs: number;
  /** Longest wait between two attempts. */
  maxDelayMs: number;
  /** Give up once the next attempt would start this long after the connection was lost. */
  giveUpMs: number;
}

/** First retry after 1 s, doubling up to 10 s, giving up after about two minutes. */
export const RECONNECT_POLICY: ReconnectPolicy = { firstDelayMs: 1_000, maxDelayMs: 10_000, giveUpMs: 120_000 };

/** The waits between reconnect attempts, from the moment the connection was lost. */
export class Backoff {
  private delay: number;
  private readonly giveUpAt: number;

  constructor(
    private readonly policy: ReconnectPolicy,
    now: number,
  ) {
    this.delay = policy.firstDelayMs;
    this.giveUpAt = now + policy.giveUpMs;
  }

  /** How long to wait before the next attempt. */
  get nextDelayMs(): number {
    return this.delay;
  }

  /** After a failed attempt: true (and a longer delay) to try again, false to give up. */
  failed(now: number): boolean {
    if (now + this.delay >= this.giveUpAt) return false;
    this.delay = Math.min(Math.max(this.delay * 2, this.policy.firstDelayMs), this.policy.maxDelayMs);
    return true;
  }

  /** Try again at once (e.g. after renewing an expired token). */
  immediately(): void {
    this.delay = 0;
  }
}
