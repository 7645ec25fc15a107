/** Program audio: 48 kHz, stereo, signed 16-bit, as the encoder reads it. */
export const SAMPLE_RATE = 48_000;
export const CHANNELS = 2;

export interface AudioMixerOptions {
  /** Sample frames (per channel) mixed per output video frame: 48000 / 30 = 1600. */
  samplesPerTick: number;
  /** A source starts (and restarts after running dry) once this much is buffered. Default 60 ms. */
  startMs?: number;
  /** More than this buffered (the sender's clock runs fast, a burst after a stall) is cut back to startMs. Default 150 ms. */
  maxMs?: number;
}

export interface AudioSourceStats {
  bufferedMs: number;
  underruns: number;
  droppedMs: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One source's jitter buffer: a ring of interleaved samples. */
class Ring {
  readonly data: Int16Array;
  read = 0;
  /** Sample frames buffered. */
  frames = 0;
  playing = false;
  underruns = 0;
  droppedFrames = 0;
  /** A byte of a sample split across two chunks. */
  carry: number | null = null;
  /** Samples of a frame whose other channel has not arrived yet (0 or 1). */
  half = 0;
  /** Played on its owner's timeline (skip / delay), not by fill level. */
  timed = false;
  /** Sample frames of silence to play before the next buffered audio (a timed source ahead of its time). */
  silence = 0;

  constructor(capacityFrames: number) {
    this.data = new Int16Array(capacityFrames * CHANNELS);
  }

  get capacityFrames(): number {
    return this.data.length / CHANNELS;
  }
}

/**
 * Mixes every source's PCM into the program's sound, one video frame's worth at a time. Each source
 * has a bounded jitter buffer: it waits for startMs of audio before it is heard, a source that runs
 * dry is silent (and waits again) rather than stalling the mix, and one that runs ahead is cut back.
 * Nothing is allocated per tick.
 */
export class AudioMixer {
  readonly #samplesPerTick: number;
  readonly #startFrames: number;
  readonly #maxFrames: number;
  readonly #sources = new Map<string, Ring>();
  readonly #acc: Int32Array;

  constructor(options: AudioMixerOptions) {
    this.#samplesPerTick = options.samplesPerTick;
    this.#startFrames = Math.round(((options.startMs ?? 60) * SAMPLE_RATE) / 1000);
    this.#maxFrames = Math.max(this.#startFrames + options.samplesPerTick, Math.round(((options.maxMs ?? 150) * SAMPLE_RATE) / 1000));
    this.#acc = new Int32Array(options.samplesPerTick * CHANNELS);
  }

  /** Bytes of one tick of program audio. */
  get tickBytes(): number {
    return this.#samplesPerTick * CHANNELS * 2;
  }

  /**
   * A source of PCM. A `timed` one is placed by its owner (skip(), delay()) on the program's
   * timeline and plays whenever it has audio; otherwise it waits for startMs and is cut back above maxMs.
   */
  addSource(id: string, options: { timed?: boolean } = {}): void {
    if (this.#sources.has(id)) return;
    const ring = new Ring(SAMPLE_RATE);
    ring.timed = options.timed ?? false;
    this.#sources.set(id, ring);
  }

  /** Sample frames a source has buffered (0 for an unknown one). */
  buffered(id: string): number {
    return this.#sources.get(id)?.frames ?? 0;
  }

  /** Drops up to `frames` of a timed source's oldest audio (it is behind the timeline); returns how many were dropped. */
  skip(id: string, frames: number): number {
    const ring = this.#sources.get(id);
    if (!ring || frames <= 0) return 0;
    const n = Math.min(Math.round(frames), ring.frames);
    if (n > 0) this.#drop(ring, n);
    ring.silence = 0;
    return n;
  }

  /** Plays `frames` of silence before a timed source's next audio (it is ahead of the timeline). */
  delay(id: string, frames: number): void {
    const ring = this.#sources.get(id);
    if (ring) ring.silence = Math.max(0, Math.round(frames));
  }

  removeSource(id: string): void {
    this.#sources.delete(id);
  }

  has(id: string): boolean {
    return this.#sources.has(id);
  }

  /** Drops what a source has buffered (it was paused: old audio must not play on resume). */
  flush(id: string): void {
    const ring = this.#sources.get(id);
    if (!ring) return;
    ring.frames = 0;
    ring.half = 0;
    ring.playing = false;
    ring.carry = null;
  }

  /** Appends s16le interleaved stereo PCM from a decoder (chunks may split a sample or a frame). */
  push(id: string, chunk: Buffer): void {
    const ring = this.#sources.get(id);
    if (!ring || chunk.length === 0) return;
    const data = ring.data;
    const len = data.length;
    let write = (ring.read + ring.frames * CHANNELS + ring.half) % len;
    let offset = 0;
    let samples = 0;
    if (ring.carry !== null) {
      data[write] = ((((chunk[0] ?? 0) << 8) | ring.carry) << 16) >> 16;
      write = write + 1 === len ? 0 : write + 1;
      ring.carry = null;
      offset = 1;
      samples = 1;
    }
    const whole = (chunk.length - offset) >> 1;
    if (((chunk.byteOffset + offset) & 1) === 0 && LITTLE_ENDIAN) {
      // Aligned (the usual case for pipe reads): copy as 16-bit samples, in at most two runs around the ring.
      const samplesIn = new Int16Array(chunk.buffer, chunk.byteOffset + offset, whole);
      const first = Math.min(whole, len - write);
      data.set(samplesIn.subarray(0, first), write);
      if (first < whole) data.set(samplesIn.subarray(first), 0);
      write = (write + whole) % len;
    } else {
      for (let i = 0; i < whole; i += 1) {
        data[write] = chunk.readInt16LE(offset + 2 * i);
        write = write + 1 === len ? 0 : write + 1;
      }
    }
    samples += whole;
    if ((chunk.length - offset) & 1) ring.carry = chunk[chunk.length - 1] ?? 0;
    const total = ring.half + samples;
    ring.half = total % CHANNELS;
    ring.frames += (total - ring.half) / CHANNELS;
    const capacity = ring.capacityFrames - 1;
    if (ring.frames > capacity) {
      // Overwritten: the oldest audio is gone; keep the newest `capacity` frames.
      ring.droppedFrames += ring.frames - capacity;
      ring.frames = capacity;
      ring.read = (write - ring.half - capacity * CHANNELS + 2 * len) % len;
    }
    if (ring.timed) return;
    if (ring.frames > this.#maxFrames) this.#drop(ring, ring.frames - this.#startFrames);
    if (!ring.playing && ring.frames >= this.#startFrames) ring.playing = true;
  }

  #drop(ring: Ring, frames: number): void {
    ring.read = (ring.read + frames * CHANNELS) % ring.data.length;
    ring.frames -= frames;
    ring.droppedFrames += frames;
  }

  /** Mixes one tick of every playing source into `out` (samplesPerTick × 2 channels). */
  mix(out: Int16Array): void {
    const acc = this.#acc;
    acc.fill(0);
    const wanted = this.#samplesPerTick;
    for (const ring of this.#sources.values()) {
      if (!ring.playing && !ring.timed) continue;
      const quiet = Math.min(wanted, ring.silence);
      ring.silence -= quiet;
      const n = Math.min(wanted - quiet, ring.frames);
      const data = ring.data;
      let read = ring.read;
      for (let i = quiet * CHANNELS; i < (quiet + n) * CHANNELS; i += 1) {
        acc[i] = (acc[i] ?? 0) + (data[read] ?? 0);
        read += 1;
        if (read === data.length) read = 0;
      }
      ring.read = read;
      ring.frames -= n;
      if (quiet + n < wanted && (ring.playing || n > 0)) {
        ring.playing = false;
        ring.underruns += 1;
      } else if (ring.timed && n > 0) ring.playing = true;
    }
    for (let i = 0; i < acc.length; i += 1) {
      const v = acc[i] ?? 0;
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
  }

  stats(id: string): AudioSourceStats | null {
    const ring = this.#sources.get(id);
    if (!ring) return null;
    return {
      bufferedMs: (ring.frames * 1000) / SAMPLE_RATE,
      underruns: ring.underruns,
      droppedMs: (ring.droppedFrames * 1000) / SAMPLE_RATE,
    };
  }
}
