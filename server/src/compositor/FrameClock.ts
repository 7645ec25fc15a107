import { monotonicClock, type Clock, type Timer } from '../media/clock.js';

export { monotonicClock } from '../media/clock.js';

export interface FrameClockOptions {
  fps: number;
  /** Called once per output frame, in order, with the frame's index (0, 1, 2, …). */
  onFrame: (index: number) => void;
  /** Default monotonicClock. */
  clock?: Clock;
}

/**
 * The program's output clock: frame n is due at start + n / fps. Each wake-up produces every frame
 * that is due (after a stall of the event loop it catches up), so the number of frames produced
 * stays locked to the wall clock and the output timeline neither drifts ahead nor falls behind.
 */
export class FrameClock {
  readonly #fps: number;
  readonly #onFrame: (index: number) => void;
  readonly #clock: Clock;
  #start = 0;
  #next = 0;
  #timer: Timer | null = null;
  #running = false;
  /** Most frames produced in one wake-up (1 in steady state; more after an event-loop stall). */
  maxBurst = 0;

  constructor(options: FrameClockOptions) {
    this.#fps = options.fps;
    this.#onFrame = options.onFrame;
    this.#clock = options.clock ?? monotonicClock;
  }

  /** Frames produced so far. */
  get frames(): number {
    return this.#next;
  }

  /** The clock time frame `index` is due at (its place on the program's timeline). */
  dueAt(index: number): number {
    return this.#due(index);
  }

  /** Milliseconds the output timeline is ahead (+) or behind (−) the wall clock since start. */
  get driftMs(): number {
    return this.#running ? (this.#next * 1000) / this.#fps - (this.#clock.now() - this.#start) : 0;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#start = this.#clock.now();
    this.#next = 0;
    this.#wake();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #due(index: number): number {
    return this.#start + (index * 1000) / this.#fps;
  }

  #wake(): void {
    this.#timer = null;
    if (!this.#running) return;
    const now = this.#clock.now();
    let burst = 0;
    while (this.#running && this.#due(this.#next) <= now) {
      const index = this.#next;
      this.#next += 1;
      burst += 1;
      this.#onFrame(index);
    }
    if (burst > this.maxBurst) this.maxBurst = burst;
    if (!this.#running) return;
    const wait = Math.max(0, this.#due(this.#next) - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#wake(), wait);
  }
}
