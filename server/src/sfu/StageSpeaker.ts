import { monotonicClock, type Clock, type Timer } from '../media/clock.js';

/** A new speaker is featured in the program once they have been the room's active speaker this long (ms). */
export const SPEAKER_HOLD_MS = 1500;
/** The featured speaker changes at most this often (ms): a lively exchange does not make the big tile ping-pong. */
export const SPEAKER_MIN_INTERVAL_MS = 4000;

export interface StageSpeakerOptions {
  /** Called when the featured speaker changes (never for left()). */
  onChange: (peerId: string | null) => void;
  /** Default monotonicClock. */
  clock?: Clock;
  /** Default SPEAKER_HOLD_MS. */
  holdMs?: number;
  /** Default SPEAKER_MIN_INTERVAL_MS. */
  minIntervalMs?: number;
}

/**
 * Who holds the floor in the program: the room's active speaker (mediasoup's dominant speaker,
 * which may flip several times a second while people talk over each other), taken over only after
 * the newcomer has held it for the hold time, and not sooner than the minimum interval after the
 * last change. The meeting's own speaker highlight stays immediate; this is what the speaker-led
 * layouts feature, so their big tile moves the way a viewer expects, and the program rebuilds its
 * scene (and starts a decoder for the grown tile) once per real turn rather than per flip.
 */
export class StageSpeaker {
  readonly #options: StageSpeakerOptions;
  readonly #clock: Clock;
  readonly #holdMs: number;
  readonly #minIntervalMs: number;
  #floor: string | null = null;
  #changedAt = -Infinity;
  #candidate: string | null = null;
  #candidateSince = 0;
  #timer: Timer | null = null;
  #closed = false;

  constructor(options: StageSpeakerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? monotonicClock;
    this.#holdMs = options.holdMs ?? SPEAKER_HOLD_MS;
    this.#minIntervalMs = options.minIntervalMs ?? SPEAKER_MIN_INTERVAL_MS;
  }

  /** The featured speaker's peer id, null before anyone has held the floor (the scene then features its first person). */
  get peerId(): string | null {
    return this.#floor;
  }

  /** The room's active speaker now (null: nobody the program could feature is talking). */
  heard(peerId: string | null): void {
    if (this.#closed || peerId === this.#candidate) return;
    this.#cancel();
    // Back to the one who holds the floor, or silence: the floor stays where it is.
    if (peerId === null || peerId === this.#floor) return;
    this.#candidate = peerId;
    this.#candidateSince = this.#clock.now();
    this.#schedule();
  }

  /**
   * The participant left, or is no longer in the program (backstage): they give up the floor at
   * once, and a pending turn of theirs is dropped. The caller's own event announces the change.
   */
  left(peerId: string): void {
    if (this.#candidate === peerId) this.#cancel();
    if (this.#floor === peerId) this.#floor = null;
  }

  close(): void {
    this.#closed = true;
    this.#cancel();
  }

  #schedule(): void {
    const due = Math.max(this.#candidateSince + this.#holdMs, this.#changedAt + this.#minIntervalMs);
    this.#timer = this.#clock.setTimeout(() => this.#takeFloor(), Math.max(0, due - this.#clock.now()));
  }

  #takeFloor(): void {
    this.#timer = null;
    const candidate = this.#candidate;
    if (this.#closed || candidate === null) return;
    this.#candidate = null;
    this.#floor = candidate;
    this.#changedAt = this.#clock.now();
    this.#options.onChange(candidate);
  }

  #cancel(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#candidate = null;
  }
}
