import type { Clock, Timer } from '../src/media/clock.js';

/** Manual clock for tests: timers fire only when advance() passes them, in order. */
export class FakeClock implements Clock {
  time = 0;
  #timers: Array<{ at: number; every: number | null; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const t = { at: this.time + ms, every: null, fn, cancelled: false };
    this.#timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }
  setInterval(fn: () => void, ms: number): Timer {
    const t = { at: this.time + ms, every: ms, fn, cancelled: false };
    this.#timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.#timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.time = next.at;
      if (next.every === null) next.cancelled = true;
      else next.at += next.every;
      next.fn();
    }
    this.time = end;
  }
}
