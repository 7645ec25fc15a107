/**
 * Where a participant's media lands on the program's timeline.
 *
 * A participant decoder (camera and microphone in one ffmpeg, one SDP session) stamps every picture
 * and every audio frame with a media time taken from the RTP timestamps mapped through the RTCP
 * sender reports mediasoup forwards (ffmpeg's rtpdec puts the streams of one session on one NTP
 * timeline once each has had a report). Audio and video of one participant therefore share a
 * clock: played out with one offset (program time = media time + offset) they stay in sync.
 *
 * The offset is chosen from what arrives: media needs `transit = arrival - media time` to get here,
 * so the offset must cover the largest recent transit (plus a margin) while the buffer it implies
 * (offset - smallest recent transit) stays within `maxDelayMs`. It rises at once (late media would
 * otherwise be skipped) and falls slowly (no audible jumps when the network calms down).
 */

export interface PlayoutOptions {
  /** Most media held back beyond the quickest recent arrival (the jitter buffer's bound). Default 150 ms. */
  maxDelayMs?: number;
  /** Headroom above the slowest recent arrival. Default 15 ms. */
  marginMs?: number;
  /** How far back arrivals are remembered. Default 2000 ms. */
  windowMs?: number;
  /** How fast the offset may fall, in ms per second. Default 20. */
  fallMsPerSecond?: number;
}

const BUCKETS = 8;

/**
 * The quickest and slowest transit (arrival − media time) of the last `windowMs`, kept as the min
 * and max per bucket of windowMs / 8: no allocation per arrival.
 */
class TransitWindow {
  readonly #bucketMs: number;
  readonly #min = new Float64Array(BUCKETS).fill(Infinity);
  readonly #max = new Float64Array(BUCKETS).fill(-Infinity);
  readonly #bucketAt = new Float64Array(BUCKETS).fill(-Infinity);
  quickest = Infinity;
  slowest = -Infinity;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / BUCKETS;
  }

  add(transit: number, nowMs: number): void {
    const slot = Math.floor(nowMs / this.#bucketMs);
    const i = ((slot % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.#bucketAt[i] !== slot) {
      this.#bucketAt[i] = slot;
      this.#min[i] = transit;
      this.#max[i] = transit;
    } else {
      if (transit < this.#min[i]!) this.#min[i] = transit;
      if (transit > this.#max[i]!) this.#max[i] = transit;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < BUCKETS; k += 1) {
      if (slot - this.#bucketAt[k]! >= BUCKETS) continue;
      if (this.#min[k]! < lo) lo = this.#min[k]!;
      if (this.#max[k]! > hi) hi = this.#max[k]!;
    }
    this.quickest = lo;
    this.slowest = hi;
  }

  /** Forgets every arrival (the quickest and slowest are kept until the next one). */
  clear(): void {
    this.#bucketAt.fill(-Infinity);
  }

  /** The quickest transit of the window's buckets that began at or after `sinceMs` (whole buckets), Infinity when none. */
  quickestSince(sinceMs: number): number {
    const first = Math.floor(sinceMs / this.#bucketMs);
    let newest = -Infinity;
    for (let k = 0; k < BUCKETS; k += 1) newest = Math.max(newest, this.#bucketAt[k]!);
    let lo = Infinity;
    for (let k = 0; k < BUCKETS; k += 1) {
      const at = this.#bucketAt[k]!;
      if (at >= first && newest - at < BUCKETS && this.#min[k]! < lo) lo = this.#min[k]!;
    }
    return lo;
  }
}

/**
 * One decoder's playout offset (pure: time comes in as arguments, so a fake clock drives it).
 */
export class Playout {
  readonly maxDelayMs: number;
  readonly #margin: number;
  readonly #fall: number;
  readonly #window: TransitWindow;
  #offset: number | null = null;
  #lastUpdate = 0;

  constructor(options: PlayoutOptions = {}) {
    this.maxDelayMs = options.maxDelayMs ?? 150;
    this.#margin = options.marginMs ?? 15;
    this.#window = new TransitWindow(options.windowMs ?? 2000);
    this.#fall = options.fallMsPerSecond ?? 20;
  }

  /** program time − media time, or null before anything arrived. */
  get offsetMs(): number | null {
    return this.#offset;
  }

  /** Media `mediaMs` (end of a picture's or audio chunk's span) arrived at program time `nowMs`. */
  observe(mediaMs: number, nowMs: number): void {
    this.#window.add(nowMs - mediaMs, nowMs);
    this.#update(nowMs);
  }

  /** How much media the offset holds back beyond the quickest recent arrival (ms), null before anything arrived. */
  get bufferMs(): number | null {
    return this.#offset === null ? null : this.#offset - this.#window.quickest;
  }

  /** The media time to present at program time `nowMs`, or null before anything arrived. */
  mediaTimeAt(nowMs: number): number | null {
    return this.#offset === null ? null : nowMs - this.#offset;
  }

  /**
   * Takes `offsetMs` as the offset and forgets the arrivals so far: a decoder taking over a tile
   * plays out in step with the one it replaces, and the slow arrivals of its start-up (its first
   * pictures come in a burst) do not hold it back. Later arrivals move the offset as usual.
   */
  adopt(offsetMs: number, nowMs: number): void {
    if (this.#offset === null) return;
    this.#offset = Math.min(offsetMs, this.#window.quickest + this.maxDelayMs);
    this.#lastUpdate = nowMs;
    this.#window.clear();
  }

  #update(nowMs: number): void {
    const lo = this.#window.quickest;
    const wanted = Math.min(this.#window.slowest + this.#margin, lo + this.maxDelayMs);
    const elapsed = Math.max(0, nowMs - this.#lastUpdate);
    this.#lastUpdate = nowMs;
    if (this.#offset === null || wanted > this.#offset) this.#offset = wanted;
    else this.#offset = Math.max(wanted, this.#offset - (this.#fall * elapsed) / 1000);
    // Never more than maxDelayMs held back: after a jump of the media timeline (a stream's first
    // sender report, a restarted decoder) the offset moves at once instead of falling slowly.
    if (this.#offset > lo + this.maxDelayMs) this.#offset = lo + this.maxDelayMs;
  }
}

/** A picture quicker than every one before it by this much (ms) means the decoder is still catching up. */
const QUICKER_MS = 8;

/**
 * How a decoder's pictures arrive against their media time: the quickest recent transit, and
 * since when the pictures stopped arriving ever quicker. A decoder that starts (or was starved of
 * CPU) with a backlog delivers it faster than real time, each picture quicker than the last; one
 * that keeps up delivers them with a steady transit. Two decoders of the same camera stamp their
 * pictures on timelines of their own (each counts from the first packet it read), but a picture's
 * media time plus its decoder's quickest transit is its arrival had it been decoded at once: that
 * compares across decoders once both keep up.
 */
export class PictureTransit {
  readonly #window: TransitWindow;
  #reference = Infinity;
  #quickerAt = -Infinity;
  #firstAt = Infinity;

  constructor(windowMs = 2000) {
    this.#window = new TransitWindow(windowMs);
  }

  /** When the first picture arrived (program time), Infinity before. */
  get firstAt(): number {
    return this.#firstAt;
  }

  observe(mediaMs: number, nowMs: number): void {
    const transit = nowMs - mediaMs;
    if (this.#firstAt === Infinity) this.#firstAt = nowMs;
    this.#window.add(transit, nowMs);
    if (transit < this.#reference - QUICKER_MS) {
      this.#reference = transit;
      this.#quickerAt = nowMs;
    }
  }

  /** The quickest transit of the last window (ms), null before the first picture. */
  get quickestMs(): number | null {
    return Number.isFinite(this.#window.quickest) ? this.#window.quickest : null;
  }

  /** The quickest transit since `sinceMs` (to a quarter of a second: whole buckets of the window), null when none. */
  quickestSince(sinceMs: number): number | null {
    const q = this.#window.quickestSince(sinceMs);
    return Number.isFinite(q) ? q : null;
  }

  /** How long (ms) no picture came much quicker than those before it: 0 while catching up, or before the first. */
  steadyFor(nowMs: number): number {
    return Number.isFinite(this.#quickerAt) ? nowMs - this.#quickerAt : 0;
  }
}

/**
 * What to add to a media time on `from`'s timeline to put it on `to`'s (see PictureTransit), or null
 * before both had a picture. Both quickest transits are taken over the same period, from the window
 * bucket (a quarter of a second) in which the later decoder's first picture arrived: the old
 * decoder's 2 s window otherwise reaches back to calmer moments than the new one (started in the
 * busy moment of a layout switch) has seen, its quickest transit lower by that, and the shift low by
 * as much, which lets the new decoder's first picture be older than the one on air (a step back).
 */
export function timelineShift(from: PictureTransit, to: PictureTransit): number | null {
  const since = Math.max(from.firstAt, to.firstAt);
  const a = from.quickestSince(since) ?? from.quickestMs;
  const b = to.quickestSince(since) ?? to.quickestMs;
  return a === null || b === null ? null : a - b;
}

/**
 * Timeline anchors of one audio stream: the media time of a sample index, recorded where the
 * stream's timestamps jump (its first frame, a resume after a mute, the first sender report).
 * Between anchors the samples run continuously at 48 kHz. A fixed ring: the newest `size` anchors.
 */
export class SampleTimeline {
  readonly #index: Float64Array;
  readonly #ms: Float64Array;
  readonly #rate: number;
  #count = 0;

  constructor(sampleRate: number, size = 16) {
    this.#rate = sampleRate;
    this.#index = new Float64Array(size);
    this.#ms = new Float64Array(size);
  }

  clear(): void {
    this.#count = 0;
  }

  /** Sample `index` (counted since the stream began) has media time `ms`. */
  anchor(index: number, ms: number): void {
    const n = this.#index.length;
    if (this.#count > 0) {
      const last = (this.#count - 1) % n;
      // Anchors come in order; one that repeats the running timeline adds nothing.
      if (index <= this.#index[last]! && this.#count > 0) {
        this.#index[last] = index;
        this.#ms[last] = ms;
        return;
      }
    }
    const i = this.#count % n;
    this.#index[i] = index;
    this.#ms[i] = ms;
    this.#count += 1;
  }

  /** Media time of sample `index`, or null before the first anchor. */
  mediaMs(index: number): number | null {
    const n = this.#index.length;
    const kept = Math.min(this.#count, n);
    for (let k = 0; k < kept; k += 1) {
      const i = (this.#count - 1 - k) % n;
      if (this.#index[i]! <= index || k === kept - 1) return this.#ms[i]! + ((index - this.#index[i]!) * 1000) / this.#rate;
    }
    return null;
  }
}

/**
 * How to bring a source's audio back onto the timeline: the sample about to play has media time
 * `readMs`, the program wants `targetMs` now. Within `toleranceMs` nothing is done (no click for
 * jitter); behind it, skip that much audio; ahead of it, play that much silence first.
 */
export function audioCorrection(readMs: number, targetMs: number, toleranceMs: number): { skipMs: number; silenceMs: number } {
  const skew = readMs - targetMs;
  if (skew < -toleranceMs) return { skipMs: -skew, silenceMs: 0 };
  if (skew > toleranceMs) return { skipMs: 0, silenceMs: skew };
  return { skipMs: 0, silenceMs: 0 };
}

/** Parses `pts_time:<seconds>` (and `n:`, `nb_samples:`) from an ffmpeg showinfo / ashowinfo line. */
export function parseShowinfo(line: string): { kind: 'video' | 'audio'; n: number; ptsMs: number; samples: number } | null {
  const tag = line.indexOf('showinfo_');
  if (tag < 0) return null;
  const kind = line.charCodeAt(tag - 1) === 97 /* 'a' */ ? 'audio' : 'video';
  const n = /\bn:\s*(\d+)/.exec(line);
  const pts = /\bpts_time:\s*(-?[\d.]+)/.exec(line);
  if (!n || !pts) return null;
  const samples = kind === 'audio' ? Number(/\bnb_samples:\s*(\d+)/.exec(line)?.[1] ?? NaN) : 0;
  if (kind === 'audio' && !Number.isFinite(samples)) return null;
  return { kind, n: Number(n[1]), ptsMs: Number(pts[1]) * 1000, samples };
}
