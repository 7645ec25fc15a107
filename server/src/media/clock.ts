/**
 * The one Clock of the server: destinations (retries, stalls), the program's frame clock, the
 * scheduler and the broadcast all take one, so tests drive time by hand.
 */
export interface Timer {
  cancel(): void;
}

/** Time source, injectable so tests can drive state machines without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
}

function timersClock(now: () => number): Clock {
  return {
    now,
    setTimeout(fn, ms) {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
    setInterval(fn, ms) {
      const t = setInterval(fn, ms);
      return { cancel: () => clearInterval(t) };
    },
  };
}

/** Wall-clock time (Date.now): for what is shown or stored as a date. */
export const systemClock: Clock = timersClock(() => Date.now());

/** Monotonic time (performance.now): for intervals that must not jump with the wall clock. */
export const monotonicClock: Clock = timersClock(() => performance.now());
