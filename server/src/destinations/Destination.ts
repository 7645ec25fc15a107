import type { DestinationState, DestinationStatus, Platform, ProgramKind } from '@onair/shared';
import type { Logger } from '../logger.js';
import { backoffDelay, type BackoffPolicy } from '../media/backoff.js';
import { systemClock, type Clock, type Timer } from '../media/clock.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import type { FlvSink } from '../flv/FlvRelay.js';
import { classifyFfmpegFailure, type FailureKind } from './errors.js';
import type { Pusher, PusherFactory, PusherProgress } from './Pusher.js';
import type { PublishTarget } from './PublishTarget.js';
import { hostOf } from './url.js';


// Re-exported for the destination's users and tests: the Clock and backoff live in media/.
export { backoffDelay } from '../media/backoff.js';
export type { Clock, Timer } from '../media/clock.js';

/** Backoff (base 1000 ms, max 30 000 ms, jitter 0.2 by default) plus when to reset and give up. */
export interface RetryPolicy extends BackoffPolicy {
  /** Staying live this long resets the delay to baseDelayMs. Default 30 000 ms. */
  resetAfterMs: number;
  /**
   * Consecutive attempts that never went live, all refused / host not found / unsupported /
   * untrusted certificate, after which the destination gives up ('failed'). Transient errors
   * (connection refused, TLS handshake, dropped connections, stalls) are retried forever.
   * Default 8 (about 2 minutes).
   */
  maxPermanentFailures: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  jitter: 0.2,
  resetAfterMs: 30_000,
  maxPermanentFailures: 8,
};

const NO_PROGRESS: PusherProgress = { totalSize: 0, frames: 0, mediaTaken: false, fps: 0, bitrateKbps: 0 };

/** Output not growing this long while input flows counts as a stall. */
export const STALL_MS = 8000;
/** A pusher not live this long after it started (while input flows) counts as not answering. */
export const CONNECT_TIMEOUT_MS = 20_000;
/** Input waiting for the pusher beyond this is dropped and the pusher restarted. */
export const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export type DestinationEvents = {
  /** The status changed (state, error, retries). */
  status: [DestinationStatus];
  /**
   * true: an attempt starts and needs the program (its owner adds it to the relay as a sink, from
   * the next keyframe); false: it takes no media until the next attempt. A destination reports; it
   * never attaches itself.
   */
  feed: [boolean];
};

export interface DestinationOptions {
  destination: PublishTarget;
  createPusher: PusherFactory;
  logger: Logger;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
  random?: () => number;
}

/**
 * One publish target. Runs a pusher fed by the relay and moves through
 * connecting → live → retrying (backoff) → … → stopped, or failed when the platform keeps refusing.
 * Nothing it does can block or stop the relay or the other destinations.
 */
export class Destination extends TypedEmitter<DestinationEvents> implements FlvSink {
  readonly id: string;
  readonly name: string;
  readonly platform: Platform;
  readonly program: ProgramKind;
  readonly #publishUrl: string;
  readonly #maskedUrl: string;
  readonly #host: string;
  readonly #options: DestinationOptions;
  readonly #clock: Clock;
  readonly #policy: RetryPolicy;
  #state: DestinationState = 'connecting';
  #pusher: Pusher | null = null;
  #attempt = 0;
  #retries = 0;
  #permanentFailures = 0;
  #lastError: string | null = null;
  #liveSince: number | null = null;
  #attemptStartedAt = 0;
  #retryTimer: Timer | null = null;
  #tick: Timer | null = null;
  #lastProgress: PusherProgress = NO_PROGRESS;
  #lastOutputGrowthAt = 0;
  #inputBytes = 0;
  #lastInputAt = 0;
  #droppedBytes = 0;
  /** Bytes the server took in earlier attempts, and the most the current attempt has reported. */
  #sentBytesBefore = 0;
  #sentBytesThisAttempt = 0;
  #wentLiveThisAttempt = false;

  constructor(options: DestinationOptions) {
    super(options.logger);
    const d = options.destination;
    this.id = d.id;
    this.name = d.name;
    this.platform = d.platform;
    this.program = d.program;
    this.#publishUrl = d.publishUrl;
    this.#maskedUrl = d.maskedUrl;
    this.#host = hostOf(this.#publishUrl) || 'the server';
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  get state(): DestinationState {
    return this.#state;
  }

  /** Starts the first attempt and the health check (once a second). */
  start(): void {
    if (this.#tick || this.#state === 'stopped') return;
    this.#tick = this.#clock.setInterval(() => this.#check(), 1000);
    this.#connect();
  }

  status(): DestinationStatus {
    const { bitrateKbps, fps } = this.#lastProgress;
    return {
      destinationId: this.id,
      name: this.name,
      platform: this.platform,
      maskedUrl: this.#maskedUrl,
      state: this.#state,
      bitrateKbps: this.#state === 'live' ? bitrateKbps : 0,
      fps: this.#state === 'live' ? fps : 0,
      retries: this.#retries,
      lastError: this.#lastError,
      liveSince: this.#liveSince === null ? null : new Date(this.#liveSince).toISOString(),
      program: this.program,
    };
  }

  /** Bytes dropped because the pusher could not keep up. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Bytes sent to the server since start(), over every attempt. */
  get sentBytes(): number {
    return this.#sentBytesBefore + this.#sentBytesThisAttempt;
  }

  /** FlvSink: hands a chunk to the pusher without ever waiting for it. */
  write(chunk: Buffer): void {
    const pusher = this.#pusher;
    if (!pusher) return;
    this.#inputBytes += chunk.length;
    this.#lastInputAt = this.#clock.now();
    if (pusher.backlogBytes > MAX_BACKLOG_BYTES) {
      this.#droppedBytes += chunk.length;
      return;
    }
    pusher.write(chunk);
  }

  /** Stops for good: ends the pusher's input so the platform sees a clean end of stream. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('stopped');
    this.#tick?.cancel();
    this.#tick = null;
    this.#retryTimer?.cancel();
    this.#retryTimer = null;
    this.emit('feed', false);
    const pusher = this.#pusher;
    this.#pusher = null;
    this.removeAllListeners();
    await pusher?.stop(true);
  }

  #connect(): void {
    this.#retryTimer = null;
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    this.#setState('connecting');
    const now = this.#clock.now();
    this.#attemptStartedAt = now;
    this.#lastOutputGrowthAt = now;
    this.#lastProgress = NO_PROGRESS;
    this.#sentBytesBefore += this.#sentBytesThisAttempt;
    this.#sentBytesThisAttempt = 0;
    this.#wentLiveThisAttempt = false;
    const pusher = this.#options.createPusher(
      this.#publishUrl,
      {
        onProgress: (p) => {
          if (this.#pusher === pusher) this.#onProgress(p);
        },
        onExit: (reason) => {
          if (this.#pusher !== pusher) return;
          const failure = typeof reason === 'string' ? classifyFfmpegFailure(reason, this.#publishUrl) : reason;
          this.#fail(failure.message, failure.kind);
        },
      },
      { allowUntrustedCertificate: this.#options.destination.allowUntrustedCertificate },
    );
    this.#pusher = pusher;
    this.emit('feed', true);
  }

  #onProgress(progress: PusherProgress): void {
    const now = this.#clock.now();
    if (progress.totalSize > this.#lastProgress.totalSize) this.#lastOutputGrowthAt = now;
    this.#sentBytesThisAttempt = Math.max(this.#sentBytesThisAttempt, progress.totalSize);
    this.#lastProgress = progress;
    // Live only once the server has taken media, not when it merely accepted the stream.
    if (this.#state === 'connecting' && progress.mediaTaken) {
      this.#wentLiveThisAttempt = true;
      this.#permanentFailures = 0;
      this.#liveSince = now;
      this.#lastError = null;
      this.#setState('live');
    }
  }

  #check(): void {
    const pusher = this.#pusher;
    if (!pusher || (this.#state !== 'connecting' && this.#state !== 'live')) return;
    const now = this.#clock.now();
    if (pusher.backlogBytes > MAX_BACKLOG_BYTES) {
      this.#fail(`${this.#host} is not taking the stream fast enough (stalled).`, 'transient');
      return;
    }
    const inputFlowing = now - this.#lastInputAt < 2000;
    if (this.#state === 'live') {
      if (inputFlowing && now - this.#lastOutputGrowthAt > STALL_MS) {
        this.#fail(`No data has reached ${this.#host} for ${Math.round(STALL_MS / 1000)} s (stalled).`, 'transient');
        return;
      }
      if (this.#liveSince !== null && now - this.#liveSince >= this.#policy.resetAfterMs) this.#attempt = 0;
    } else if (inputFlowing && now - this.#attemptStartedAt > CONNECT_TIMEOUT_MS) {
      this.#fail(`${this.#host} did not answer in time.`, 'transient');
    }
  }

  #fail(message: string, kind: FailureKind): void {
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    const pusher = this.#pusher;
    this.#pusher = null;
    this.emit('feed', false);
    void pusher?.stop(false);
    this.#lastError = message;
    this.#liveSince = null;
    this.#options.logger.warn({ destination: this.id, error: message }, 'destination failed');
    if (kind !== 'transient' && !this.#wentLiveThisAttempt) this.#permanentFailures += 1;
    else this.#permanentFailures = 0;
    if (this.#permanentFailures >= this.#policy.maxPermanentFailures) {
      this.#tick?.cancel();
      this.#tick = null;
      this.#setState('failed');
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#policy, this.#options.random);
    this.#attempt += 1;
    this.#retries += 1;
    this.#setState('retrying');
    this.#retryTimer = this.#clock.setTimeout(() => this.#connect(), delay);
  }

  #setState(state: DestinationState): void {
    const changed = state !== this.#state;
    this.#state = state;
    if (changed || state === 'retrying') this.emit('status', this.status());
  }
}
