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
 * One decoder's playout offset (pure: time comes in as arguments, so a fake clock drives it). Arrivals
 * are kept as the min and max transit per bucket of windowMs / 8: no allocation per arrival.
 */
export class Playout {
  readonly maxDelayMs: number;
  readonly #margin: number;
  readonly #bucketMs: number;
  readonly #fall: number;
  readonly #min = new Float64Array(BUCKETS).fill(Infinity);
  readonly #max = new Float64Array(BUCKETS).fill(-Infinity);
  readonly #bucketAt = new Float64Array(BUCKETS).fill(-Infinity);
  #offset: number | null = null;
  #lastUpdate = 0;
  #quickest = 0;

  constructor(options: PlayoutOptions = {}) {
    this.maxDelayMs = options.maxDelayMs ?? 150;
    this.#margin = options.marginMs ?? 15;
    this.#bucketMs = (options.windowMs ?? 2000) / BUCKETS;
    this.#fall = options.fallMsPerSecond ?? 20;
  }

  /** program time − media time, or null before anything arrived. */
  get offsetMs(): number | null {
    return this.#offset;
  }

  /** Media `mediaMs` (end of a picture's or audio chunk's span) arrived at program time `nowMs`. */
  observe(mediaMs: number, nowMs: number): void {
    const transit = nowMs - mediaMs;
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
    this.#update(nowMs, slot);
  }

  /** How much media the offset holds back beyond the quickest recent arrival (ms), null before anything arrived. */
  get bufferMs(): number | null {
    return this.#offset === null ? null : this.#offset - this.#quickest;
  }

  /** The media time to present at program time `nowMs`, or null before anything arrived. */
  mediaTimeAt(nowMs: number): number | null {
    return this.#offset === null ? null : nowMs - this.#offset;
  }

  #update(nowMs: number, slot: number): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < BUCKETS; i += 1) {
      if (slot - this.#bucketAt[i]! >= BUCKETS) continue;
      if (this.#min[i]! < lo) lo = this.#min[i]!;
      if (this.#max[i]! > hi) hi = this.#max[i]!;
    }
    this.#quickest = lo;
    const wanted = Math.min(hi + this.#margin, lo + this.maxDelayMs);
    const elapsed = Math.max(0, nowMs - this.#lastUpdate);
    this.#lastUpdate = nowMs;
    if (this.#offset === null || wanted > this.#offset) this.#offset = wanted;
    else this.#offset = Math.max(wanted, this.#offset - (this.#fall * elapsed) / 1000);
    // Never more than maxDelayMs held back: after a jump of the media timeline (a stream's first
    // sender report, a restarted decoder) the offset moves at once instead of falling slowly.
    if (this.#offset > lo + this.maxDelayMs) this.#offset = lo + this.maxDelayMs;
  }
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
