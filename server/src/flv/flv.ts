/** Minimal FLV reading and writing: enough to relay ffmpeg's FLV output tag by tag. */

export const TAG_AUDIO = 8;
export const TAG_VIDEO = 9;
export const TAG_SCRIPT = 18;

export interface FlvTag {
  type: number;
  /** Milliseconds (32-bit, with the extended byte folded in). */
  timestamp: number;
  data: Buffer;
}

const FLV_HEADER_SIZE = 9;
const TAG_HEADER_SIZE = 11;

/** The 9-byte FLV header followed by PreviousTagSize0. */
export function flvHeader(hasAudio = true, hasVideo = true): Buffer {
  const out = Buffer.alloc(FLV_HEADER_SIZE + 4);
  out.write('FLV', 0, 'latin1');
  out[3] = 1;
  out[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  out.writeUInt32BE(FLV_HEADER_SIZE, 5);
  return out;
}

/** A tag followed by its PreviousTagSize field. */
export function serializeTag(tag: FlvTag): Buffer {
  const size = tag.data.length;
  const out = Buffer.allocUnsafe(TAG_HEADER_SIZE + size + 4);
  const ts = tag.timestamp >>> 0;
  out[0] = tag.type;
  out.writeUIntBE(size, 1, 3);
  out.writeUIntBE(ts & 0xffffff, 4, 3);
  out[7] = (ts >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3);
  tag.data.copy(out, TAG_HEADER_SIZE);
  out.writeUInt32BE(TAG_HEADER_SIZE + size, TAG_HEADER_SIZE + size);
  return out;
}

export function isVideoKeyframe(tag: FlvTag): boolean {
  return tag.type === TAG_VIDEO && tag.data.length > 1 && tag.data[0] !== undefined && tag.data[0] >> 4 === 1 && !isAvcSequenceHeader(tag);
}

export function isAvcSequenceHeader(tag: FlvTag): boolean {
  return tag.type === TAG_VIDEO && tag.data.length > 1 && ((tag.data[0] ?? 0) & 0x0f) === 7 && tag.data[1] === 0;
}

export function isAvcEndOfSequence(tag: FlvTag): boolean {
  return tag.type === TAG_VIDEO && tag.data.length > 1 && ((tag.data[0] ?? 0) & 0x0f) === 7 && tag.data[1] === 2;
}

export function isAacSequenceHeader(tag: FlvTag): boolean {
  return tag.type === TAG_AUDIO && tag.data.length > 1 && (tag.data[0] ?? 0) >> 4 === 10 && tag.data[1] === 0;
}

/**
 * Incremental FLV parser: push() stdout chunks as they arrive and get whole tags back. Throws
 * on a stream that is not FLV (the caller treats the producing process as broken).
 */
export class FlvParser {
  #buffer: Buffer = Buffer.alloc(0);
  #header: Buffer | null = null;
  #bytes = 0;

  /** The FLV header seen at the start of the stream, null until it has arrived. */
  get header(): Buffer | null {
    return this.#header;
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  push(chunk: Buffer): FlvTag[] {
    this.#bytes += chunk.length;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const tags: FlvTag[] = [];
    let offset = 0;
    const buf = this.#buffer;
    if (!this.#header) {
      if (buf.length < FLV_HEADER_SIZE + 4) return tags;
      if (buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      const headerSize = buf.readUInt32BE(5);
      if (buf.length < headerSize + 4) return tags;
      this.#header = Buffer.from(buf.subarray(0, headerSize + 4));
      offset = headerSize + 4;
    }
    while (buf.length - offset >= TAG_HEADER_SIZE) {
      const type = buf[offset] ?? 0;
      const size = buf.readUIntBE(offset + 1, 3);
      const total = TAG_HEADER_SIZE + size + 4;
      if (buf.length - offset < total) break;
      if (type !== TAG_AUDIO && type !== TAG_VIDEO && type !== TAG_SCRIPT) throw new Error(`unexpected FLV tag type ${type}`);
      const timestamp = (buf.readUIntBE(offset + 4, 3) | ((buf[offset + 7] ?? 0) << 24)) >>> 0;
      const data = Buffer.from(buf.subarray(offset + TAG_HEADER_SIZE, offset + TAG_HEADER_SIZE + size));
      tags.push({ type, timestamp, data });
      offset += total;
    }
    this.#buffer = offset === buf.length ? Buffer.alloc(0) : buf.subarray(offset);
    return tags;
  }
}
