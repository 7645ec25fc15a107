import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { Clock, Timer } from './clock.js';
import type { Logger } from '../logger.js';

/** Between two spares' start-ups (ms): each adds its 40–70 ms of CPU to a window of its own. */
const SPARE_SPACING_MS = 1000;

export interface WarmPoolOptions<T> {
  /** Spares kept. */
  size: number;
  /** A spare is started once nothing was taken for this long (ms): refills wait for a quiet moment. */
  refillAfterMs: number;
  /** Starts one spare (resolves once it is waiting for its input). */
  start: () => Promise<T>;
  /** False once a spare can no longer be used (its process ended). */
  usable: (spare: T) => boolean;
  /** Ends a spare that will not be used. */
  discard: (spare: T) => void;
  clock: Clock;
  logger: Logger;
}

/**
 * Processes started ahead of need. Debian's ffmpeg spends 40–70 ms of CPU before it reads its
 * first input (dynamic linking of its ~215 libraries, their initialisers, option parsing); a spare
 * pays that at a quiet moment and then blocks opening an input that is a FIFO (`writeFifo`), so a
 * join or a layout switch only pays the work itself. Spares are started, first and after one
 * was taken, only once the pool has not been asked for anything for `refillAfterMs`: events come
 * in bursts (go-live itself, people joining once the show is on), and a start-up during one would
 * add to its peak.
 */
export class WarmPool<T> {
  readonly #options: WarmPoolOptions<T>;
  readonly #spares: T[] = [];
  #starting = 0;
  #refill: Timer | null = null;
  #closed = false;

  /**
   * The first spares start after `refillAfterMs` without a take too: the owner's own start is a
   * burst of start-ups already, and events come right after it (people join once the show is on).
   */
  constructor(options: WarmPoolOptions<T>) {
    this.#options = options;
    this.#refill = options.clock.setTimeout(() => {
      this.#refill = null;
      this.#fill();
    }, options.refillAfterMs);
  }

  /** Spares ready now. */
  get ready(): number {
    return this.#spares.length;
  }

  /** A ready spare, or null (the caller starts one the usual way); either way the next start-up of a spare waits again. */
  take(): T | null {
    if (this.#closed) return null;
    let spare: T | undefined;
    while ((spare = this.#spares.shift()) !== undefined) {
      if (this.#options.usable(spare)) break;
      this.#options.discard(spare);
    }
    this.#scheduleRefill();
    return spare ?? null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#refill?.cancel();
    this.#refill = null;
    for (const spare of this.#spares.splice(0)) this.#options.discard(spare);
  }

  #scheduleRefill(): void {
    this.#refill?.cancel();
    this.#refill = this.#options.clock.setTimeout(() => {
      this.#refill = null;
      this.#fill();
    }, this.#options.refillAfterMs);
  }

  /** Starts the missing spares one after the other (never several start-ups at once). */
  #fill(): void {
    if (this.#closed || this.#starting > 0) return;
    const missing = this.#options.size - this.#spares.filter((s) => this.#options.usable(s)).length;
    if (missing <= 0) return;
    this.#starting += 1;
    let failed = false;
    this.#options
      .start()
      .then((spare) => {
        if (this.#closed) this.#options.discard(spare);
        else this.#spares.push(spare);
      })
      .catch((error: unknown) => {
        failed = true;
        this.#options.logger.warn({ err: error }, 'could not start a spare process');
      })
      .finally(() => {
        this.#starting -= 1;
        if (this.#closed) return;
        // A failure is tried again after a quiet spell; otherwise the next spare a moment later (start-ups
        // spread, not back to back), unless something was asked for meanwhile.
        if (failed) this.#scheduleRefill();
        else if (!this.#refill) this.#refill = this.#options.clock.setTimeout(() => {
          this.#refill = null;
          this.#fill();
        }, SPARE_SPACING_MS);
      });
  }
}

/**
 * Writes `text` into a FIFO whose reader (a spare's ffmpeg) is waiting on it, without blocking:
 * false when nobody reads it (the process is gone). A write of at most PIPE_BUF bytes is atomic, and
 * up to the pipe's 64 KiB goes in without a reader having read (an SDP or a filter graph fits).
 */
export function writeFifo(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const bytes = Buffer.from(text);
    return writeSync(fd, bytes) === bytes.length;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
