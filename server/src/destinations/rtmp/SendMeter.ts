/**
 * Measures what a publisher actually sent: media the operating system has taken off the socket,
 * counted by the tags' own timestamps. A rate is "media per second of media time", so a burst
 * (the cached GOP flushed when the server accepts the stream) can never read as more frames per
 * second than the stream has; and when the network is slower than real time, the wall-clock time
 * the window took to leave is used instead, so a falling-behind destination reads lower, not higher.
 */

/** The window rates are measured over, in media time. Default 5000 ms. */
export const METER_WINDOW_MS = 5000;

/** Rates need at least this much media time in the window. */
const MIN_SPAN_MS = 1000;

export interface MeterRates {
  /** Video frames per second of the window. */
  fps: number;
  /** Media (audio + video payload) bits per second of the window, in kb/s. */
  bitrateKbps: number;
}

interface Pending {
  /** Bytes written to the socket up to and including this tag. */
  end: number;
  timestamp: number;
  bytes: number;
  video: boolean;
}

interface Delivered {
  timestamp: number;
  bytes: number;
  video: boolean;
  /** When the meter saw it leave the socket (ms, any monotonic clock). */
  at: number;
}

export class SendMeter {
  readonly #windowMs: number;
  #pending: Pending[] = [];
  #delivered: Delivered[] = [];
  #frames = 0;
  #mediaBytes = 0;
  #firstTimestamp: number | null = null;
  #lastTimestamp: number | null = null;

  constructor(windowMs = METER_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** A media tag was written to the socket; `end` is the socket's byte count after it. */
  sent(tag: { timestamp: number; bytes: number; video: boolean; end: number }): void {
    this.#pending.push({ end: tag.end, timestamp: tag.timestamp, bytes: tag.bytes, video: tag.video });
  }

  /** The operating system has taken every byte up to `flushed`; `now` is the time of the check. */
  flushed(flushed: number, now: number): void {
    let taken = 0;
    while (taken < this.#pending.length && (this.#pending[taken]?.end ?? Infinity) <= flushed) taken += 1;
    if (taken === 0) return;
    for (const p of this.#pending.splice(0, taken)) {
      this.#delivered.push({ timestamp: p.timestamp, bytes: p.bytes, video: p.video, at: now });
      this.#mediaBytes += p.bytes;
      if (p.video) this.#frames += 1;
      this.#firstTimestamp ??= p.timestamp;
      this.#lastTimestamp = Math.max(this.#lastTimestamp ?? p.timestamp, p.timestamp);
    }
    const newest = this.#lastTimestamp ?? 0;
    const firstKept = this.#delivered.findIndex((d) => d.timestamp >= newest - this.#windowMs);
    if (firstKept > 0) this.#delivered.splice(0, firstKept);
  }

  /** Video frames taken by the operating system. */
  get frames(): number {
    return this.#frames;
  }

  /** Media payload bytes taken by the operating system. */
  get mediaBytes(): number {
    return this.#mediaBytes;
  }

  /** Media time taken by the operating system, first to last timestamp (ms). */
  get mediaMs(): number {
    return this.#firstTimestamp === null || this.#lastTimestamp === null ? 0 : this.#lastTimestamp - this.#firstTimestamp;
  }

  rates(): MeterRates {
    const video = this.#delivered.filter((d) => d.video);
    const first = video[0];
    const last = video[video.length - 1];
    // Shorter spans are not measured: millisecond timestamps (33, 34, 33 ms apart) would read 30.3 fps.
    if (!first || !last || last.timestamp - first.timestamp < MIN_SPAN_MS) return { fps: 0, bitrateKbps: 0 };
    const mediaSeconds = (last.timestamp - first.timestamp) / 1000;
    const wallSeconds = (last.at - first.at) / 1000;
    const seconds = Math.max(mediaSeconds, wallSeconds);
    // Frames after the first one, over the time from the first to the last: n frames at 30 fps span (n − 1)/30 s.
    const fps = (video.length - 1) / seconds;
    const bytes = this.#delivered.filter((d) => d.timestamp > first.timestamp && d.timestamp <= last.timestamp).reduce((sum, d) => sum + d.bytes, 0);
    return { fps: Math.round(fps * 10) / 10, bitrateKbps: Math.round((bytes * 8) / 1000 / seconds) };
  }
}
