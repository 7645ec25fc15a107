import { TypedEmitter } from '../media/TypedEmitter.js';
import {
  flvHeader,
  isAacSequenceHeader,
  isAvcEndOfSequence,
  isAvcSequenceHeader,
  isVideoKeyframe,
  serializeTag,
  TAG_AUDIO,
  TAG_SCRIPT,
  TAG_VIDEO,
  type FlvTag,
} from './flv.js';

/** Something the relay writes FLV bytes to. write() must never block; a slow sink drops. */
export interface FlvSink {
  readonly id: string;
  write(chunk: Buffer): void;
}

export interface SwitchInfo {
  from: string | null;
  to: string;
  /** Wall-clock time between the last tag forwarded from `from` and the first from `to`. */
  gapMs: number | null;
  /** Output timestamp distance between those two tags. */
  timestampGapMs: number | null;
}

export type FlvRelayEvents = {
  /** The relay now forwards `to`; the owner may close `from`. */
  switched: [SwitchInfo];
};

export interface FlvRelayStats {
  switches: number;
  lastSwitchGapMs: number | null;
  lastSwitchTimestampGapMs: number | null;
  /** Output timestamp (ms) of the last forwarded tag, null before the first. */
  lastTimestamp: number | null;
  /** performance.now() of the last forwarded tag, null before the first. */
  lastForwardAt: number | null;
  tagsForwarded: number;
  bytesForwarded: number;
  activeSource: string | null;
  pendingSource: string | null;
}

interface SourceState {
  avcHeader: FlvTag | null;
  aacHeader: FlvTag | null;
  metadata: FlvTag | null;
  /** Added to this source's timestamps once it is active. */
  offset: number;
  /** Source timestamp of the keyframe it was switched in on; earlier tags are dropped. */
  startTimestamp: number;
}

interface SinkState {
  sink: FlvSink;
  initialised: boolean;
  waitingForKeyframe: boolean;
}

/** A GOP larger than this (unusual at 2 s keyframes) is not cached; late sinks then wait for a keyframe. */
const MAX_GOP_CACHE_BYTES = 8 * 1024 * 1024;

export interface FlvRelayOptions {
  /** Output frame duration in ms, the step between the old and the new timeline. Default 1000/30. */
  frameDurationMs?: number;
  now?: () => number;
}

/**
 * Forwards one FLV source at a time to many sinks, with timestamps rebased so the output is one
 * continuous stream across source switches. A new source is announced with expect(); the relay
 * keeps forwarding the current source until the new one has sent its AVC sequence header and a
 * video keyframe, then switches on that keyframe and emits `switched`.
 */
export class FlvRelay extends TypedEmitter<FlvRelayEvents> {
  readonly #frameDurationMs: number;
  readonly #now: () => number;
  readonly #sources = new Map<string, SourceState>();
  readonly #sinks = new Map<string, SinkState>();
  #active: string | null = null;
  #pending: string | null = null;
  #avcHeader: FlvTag | null = null;
  #aacHeader: FlvTag | null = null;
  #metadata: FlvTag | null = null;
  #lastTimestamp: number | null = null;
  #lastByType = new Map<number, number>();
  #lastForwardAt: number | null = null;
  #switches = 0;
  #lastSwitchGapMs: number | null = null;
  #lastSwitchTimestampGapMs: number | null = null;
  #tagsForwarded = 0;
  #bytesForwarded = 0;
  /** The output since the last video keyframe, so a sink that attaches starts at once (GOP cache). */
  #gop: Buffer[] = [];
  #gopBytes = 0;
  #gopStartTimestamp = 0;

  constructor(options: FlvRelayOptions = {}) {
    super();
    this.#frameDurationMs = options.frameDurationMs ?? 1000 / 30;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Announces the source to switch to at its first keyframe; replaces an earlier pending one. */
  expect(sourceId: string): void {
    if (this.#pending && this.#pending !== sourceId) this.#sources.delete(this.#pending);
    this.#pending = sourceId;
    this.#sources.set(sourceId, { avcHeader: null, aacHeader: null, metadata: null, offset: 0, startTimestamp: 0 });
  }

  /** Forgets a source (it ended); if it was active the output pauses until the pending one switches in. */
  dropSource(sourceId: string): void {
    this.#sources.delete(sourceId);
    if (this.#pending === sourceId) this.#pending = null;
    if (this.#active === sourceId) this.#active = null;
  }

  get activeSource(): string | null {
    return this.#active;
  }

  get pendingSource(): string | null {
    return this.#pending;
  }

  push(sourceId: string, tag: FlvTag): void {
    const source = this.#sources.get(sourceId);
    if (!source) return;
    if (sourceId === this.#pending) {
      this.#onPendingTag(sourceId, source, tag);
      return;
    }
    if (sourceId !== this.#active) return;
    if (isAvcEndOfSequence(tag)) return;
    if (tag.type === TAG_SCRIPT) {
      source.metadata = tag;
      return;
    }
    if (tag.timestamp < source.startTimestamp) return;
    if (isAvcSequenceHeader(tag)) this.#avcHeader = tag;
    if (isAacSequenceHeader(tag)) this.#aacHeader = tag;
    this.#forward(tag, source.offset);
  }

  addSink(sink: FlvSink): void {
    const state: SinkState = { sink, initialised: false, waitingForKeyframe: true };
    this.#sinks.set(sink.id, state);
    if (this.#avcHeader) this.#initialiseSink(state);
  }

  removeSink(id: string): void {
    this.#sinks.delete(id);
  }

  stats(): FlvRelayStats {
    return {
      switches: this.#switches,
      lastSwitchGapMs: this.#lastSwitchGapMs,
      lastSwitchTimestampGapMs: this.#lastSwitchTimestampGapMs,
      lastTimestamp: this.#lastTimestamp,
      lastForwardAt: this.#lastForwardAt,
      tagsForwarded: this.#tagsForwarded,
      bytesForwarded: this.#bytesForwarded,
      activeSource: this.#active,
      pendingSource: this.#pending,
    };
  }

  #onPendingTag(sourceId: string, source: SourceState, tag: FlvTag): void {
    if (tag.type === TAG_SCRIPT) {
      source.metadata = tag;
      return;
    }
    if (isAvcSequenceHeader(tag)) {
      source.avcHeader = tag;
      return;
    }
    if (isAacSequenceHeader(tag)) {
      source.aacHeader = tag;
      return;
    }
    if (!isVideoKeyframe(tag) || !source.avcHeader) return;

    // Switch atomically on this keyframe.
    const now = this.#now();
    const from = this.#active;
    const previousTimestamp = this.#lastTimestamp;
    const target = previousTimestamp === null ? 0 : Math.round(previousTimestamp + this.#frameDurationMs);
    source.offset = target - tag.timestamp;
    source.startTimestamp = tag.timestamp;
    if (from) this.#sources.delete(from);
    this.#active = sourceId;
    this.#pending = null;
    this.#avcHeader = source.avcHeader;
    if (source.aacHeader) this.#aacHeader = source.aacHeader;
    if (!this.#metadata && source.metadata) this.#metadata = source.metadata;
    const gapMs = from !== null && this.#lastForwardAt !== null ? now - this.#lastForwardAt : null;
    const timestampGapMs = previousTimestamp === null ? null : target - previousTimestamp;

    // Sinks already receiving get the new sequence headers in-stream; new sinks get them with their init.
    this.#forward({ ...source.avcHeader, timestamp: tag.timestamp }, source.offset);
    if (source.aacHeader) this.#forward({ ...source.aacHeader, timestamp: tag.timestamp }, source.offset);
    for (const state of this.#sinks.values()) {
      if (!state.initialised) this.#initialiseSink(state);
    }
    this.#forward(tag, source.offset);

    this.#switches += 1;
    if (from !== null) {
      this.#lastSwitchGapMs = gapMs;
      this.#lastSwitchTimestampGapMs = timestampGapMs;
    }
    this.emit('switched', { from, to: sourceId, gapMs, timestampGapMs });
  }

  /** Header, sequence headers, then the cached GOP when there is one (else wait for a keyframe). */
  #initialiseSink(state: SinkState): void {
    const haveGop = this.#gop.length > 0;
    const timestamp = haveGop ? this.#gopStartTimestamp : (this.#lastTimestamp ?? 0);
    const parts = [flvHeader(true, true)];
    if (this.#metadata) parts.push(serializeTag({ ...this.#metadata, timestamp: 0 }));
    if (this.#avcHeader) parts.push(serializeTag({ ...this.#avcHeader, timestamp }));
    if (this.#aacHeader) parts.push(serializeTag({ ...this.#aacHeader, timestamp }));
    if (haveGop) parts.push(...this.#gop);
    state.sink.write(Buffer.concat(parts));
    state.initialised = true;
    state.waitingForKeyframe = !haveGop;
  }

  #cacheGop(tag: FlvTag, bytes: Buffer, keyframe: boolean): void {
    if (tag.type !== TAG_VIDEO && tag.type !== TAG_AUDIO) return;
    if (keyframe) {
      this.#gop = [bytes];
      this.#gopBytes = bytes.length;
      this.#gopStartTimestamp = tag.timestamp;
    } else if (this.#gop.length > 0) {
      if (this.#gopBytes + bytes.length > MAX_GOP_CACHE_BYTES) {
        this.#gop = [];
        this.#gopBytes = 0;
        return;
      }
      this.#gop.push(bytes);
      this.#gopBytes += bytes.length;
    }
  }

  #forward(tag: FlvTag, offset: number): void {
    let timestamp = Math.max(0, tag.timestamp + offset);
    // Keep each track monotonic even if the source interleaves a little out of order.
    const lastOfType = this.#lastByType.get(tag.type);
    if (lastOfType !== undefined && timestamp < lastOfType) timestamp = lastOfType;
    this.#lastByType.set(tag.type, timestamp);
    const out = { type: tag.type, timestamp, data: tag.data };
    const bytes = serializeTag(out);
    const keyframe = isVideoKeyframe(out);
    const header = isAvcSequenceHeader(out) || isAacSequenceHeader(out);
    if (!header) this.#cacheGop(out, bytes, keyframe);
    for (const state of this.#sinks.values()) {
      if (!state.initialised) continue;
      if (state.waitingForKeyframe) {
        if (header) {
          state.sink.write(bytes);
          continue;
        }
        if (!keyframe) continue;
        state.waitingForKeyframe = false;
      }
      state.sink.write(bytes);
    }
    if (tag.type === TAG_VIDEO || tag.type === TAG_AUDIO) {
      this.#lastTimestamp = this.#lastTimestamp === null ? timestamp : Math.max(this.#lastTimestamp, timestamp);
    }
    this.#lastForwardAt = this.#now();
    this.#tagsForwarded += 1;
    this.#bytesForwarded += bytes.length;
  }
}
