/** RTMP chunk streams (RTMP spec §5.3): messages cut into chunks and put back together. */

export const MSG_SET_CHUNK_SIZE = 1;
export const MSG_ABORT = 2;
export const MSG_ACKNOWLEDGEMENT = 3;
export const MSG_USER_CONTROL = 4;
export const MSG_WINDOW_ACK_SIZE = 5;
export const MSG_SET_PEER_BANDWIDTH = 6;
export const MSG_AUDIO = 8;
export const MSG_VIDEO = 9;
export const MSG_DATA_AMF3 = 15;
export const MSG_COMMAND_AMF3 = 17;
export const MSG_DATA_AMF0 = 18;
export const MSG_COMMAND_AMF0 = 20;

/** User control events (spec §7.1.7). */
export const EVENT_STREAM_BEGIN = 0;
export const EVENT_PING_REQUEST = 6;
export const EVENT_PING_RESPONSE = 7;

/** Chunk size both sides start with. */
export const DEFAULT_CHUNK_SIZE = 128;
/** Largest chunk size the spec allows (31 bits). */
const MAX_CHUNK_SIZE = 0x7fffffff;
/** A message header timestamp field holding this means "the real value follows in 4 bytes". */
const EXTENDED = 0xffffff;
/** Nothing the server sends a publisher is this large; a bigger length means a broken stream. */
const MAX_INCOMING_MESSAGE = 16 * 1024 * 1024;

export interface RtmpMessage {
  type: number;
  /** Message stream id: 0 for the connection, the createStream result for the stream. */
  streamId: number;
  /** Milliseconds, 32 bits (wraps). */
  timestamp: number;
  payload: Buffer;
}

/** Chunk stream id: 1, 2 or 3 bytes of basic header (spec §5.3.1.1). */
function basicHeader(fmt: number, csid: number): Buffer {
  if (csid < 2 || csid > 65599) throw new Error(`chunk stream id ${csid} out of range`);
  if (csid < 64) return Buffer.from([(fmt << 6) | csid]);
  if (csid < 320) return Buffer.from([fmt << 6, csid - 64]);
  const rest = csid - 64;
  return Buffer.from([(fmt << 6) | 1, rest & 0xff, rest >> 8]);
}

interface SentHeader {
  timestamp: number;
  streamId: number;
}

/**
 * Cuts outgoing messages into chunks. The first message on a chunk stream (or one whose stream id
 * changes or whose timestamp goes back) gets a type-0 header with the absolute timestamp; later
 * ones a type-1 header with the delta; the chunks after the first of a message get type-3
 * headers. Timestamps and deltas from 0xFFFFFF up go in the extended field, which every type-3
 * chunk of that message repeats (what ffmpeg, OBS and nginx-rtmp do).
 */
export class ChunkWriter {
  #chunkSize = DEFAULT_CHUNK_SIZE;
  readonly #sent = new Map<number, SentHeader>();

  get chunkSize(): number {
    return this.#chunkSize;
  }

  /** Use after sending Set Chunk Size (the message itself still goes out in the old size). */
  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) throw new Error(`chunk size ${size} out of range`);
    this.#chunkSize = size;
  }

  /** The bytes of one message on chunk stream `csid`. */
  encode(csid: number, message: RtmpMessage): Buffer {
    const { payload } = message;
    const timestamp = message.timestamp >>> 0;
    const previous = this.#sent.get(csid);
    const absolute = !previous || previous.streamId !== message.streamId || timestamp < previous.timestamp;
    const field = absolute ? timestamp : timestamp - previous.timestamp;
    const extended = field >= EXTENDED;
    this.#sent.set(csid, { timestamp, streamId: message.streamId });

    const header = Buffer.alloc(absolute ? 11 : 7);
    header.writeUIntBE(extended ? EXTENDED : field, 0, 3);
    header.writeUIntBE(payload.length, 3, 3);
    header[6] = message.type;
    if (absolute) header.writeUInt32LE(message.streamId >>> 0, 7);
    const extendedField = Buffer.allocUnsafe(extended ? 4 : 0);
    if (extended) extendedField.writeUInt32BE(field >>> 0, 0);

    const parts: Buffer[] = [basicHeader(absolute ? 0 : 1, csid), header, extendedField, payload.subarray(0, this.#chunkSize)];
    const continuation = Buffer.concat([basicHeader(3, csid), extendedField]);
    for (let offset = this.#chunkSize; offset < payload.length; offset += this.#chunkSize) {
      parts.push(continuation, payload.subarray(offset, offset + this.#chunkSize));
    }
    return Buffer.concat(parts);
  }
}

interface ReceiveState {
  timestamp: number;
  /** Last delta, reused by type-3 headers that start a new message. */
  delta: number;
  length: number;
  type: number;
  streamId: number;
  /** The last message header on this chunk stream used the extended timestamp field. */
  extended: boolean;
  parts: Buffer[];
  received: number;
}

/**
 * Puts incoming chunks back together into messages, across any number of interleaved chunk
 * streams and all four header types. The owner calls setChunkSize() when the peer's Set Chunk
 * Size message arrives and abort() for an Abort message.
 */
export class ChunkReader {
  #chunkSize = DEFAULT_CHUNK_SIZE;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #streams = new Map<number, ReceiveState>();

  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) throw new Error(`peer chunk size ${size} out of range`);
    this.#chunkSize = size;
  }

  /** Drops the partly received message on chunk stream `csid`. */
  abort(csid: number): void {
    const state = this.#streams.get(csid);
    if (!state) return;
    state.parts = [];
    state.received = 0;
  }

  /**
   * Feeds received bytes and returns the messages they complete. `onMessage`, when given, is
   * called for each one before the next chunk is read, so a Set Chunk Size applies to the
   * chunks right behind it.
   */
  push(data: Buffer, onMessage: (message: RtmpMessage) => void): void {
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data]);
    let offset = 0;
    for (;;) {
      const consumed = this.#readChunk(offset, onMessage);
      if (consumed === 0) break;
      offset += consumed;
    }
    this.#buffer = offset >= this.#buffer.length ? Buffer.alloc(0) : this.#buffer.subarray(offset);
  }

  /** Reads one chunk at `start`; returns the bytes it took, 0 when it has not fully arrived. */
  #readChunk(start: number, onMessage: (message: RtmpMessage) => void): number {
    const buf = this.#buffer;
    let pos = start;
    if (pos >= buf.length) return 0;
    const first = buf[pos] ?? 0;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    pos += 1;
    if (csid === 0) {
      if (pos + 1 > buf.length) return 0;
      csid = 64 + (buf[pos] ?? 0);
      pos += 1;
    } else if (csid === 1) {
      if (pos + 2 > buf.length) return 0;
      csid = 64 + (buf[pos] ?? 0) + (buf[pos + 1] ?? 0) * 256;
      pos += 2;
    }
    const headerSize = [11, 7, 3, 0][fmt] ?? 0;
    if (pos + headerSize > buf.length) return 0;

    const known = this.#streams.get(csid);
    if (!known && fmt !== 0) throw new Error(`chunk stream ${csid} starts without a type-0 header`);
    const state: ReceiveState = known ?? { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, parts: [], received: 0 };
    const startsMessage = state.received === 0;
    let field = 0;
    let length = state.length;
    let type = state.type;
    let streamId = state.streamId;
    let extended = state.extended;
    if (fmt <= 2) {
      field = buf.readUIntBE(pos, 3);
      extended = field === EXTENDED;
    }
    if (fmt <= 1) {
      length = buf.readUIntBE(pos + 3, 3);
      type = buf[pos + 6] ?? 0;
    }
    if (fmt === 0) streamId = buf.readUInt32LE(pos + 7);
    pos += headerSize;
    if (extended) {
      if (pos + 4 > buf.length) return 0;
      // A type-3 chunk repeats the extended field of its message; read it and keep the header's value.
      if (fmt <= 2) field = buf.readUInt32BE(pos);
      pos += 4;
    }
    if (length > MAX_INCOMING_MESSAGE) throw new Error(`incoming RTMP message of ${length} bytes`);
    const take = Math.min(this.#chunkSize, length - (startsMessage ? 0 : state.received));
    if (pos + take > buf.length) return 0;

    // The whole chunk is here: commit the header.
    if (startsMessage) {
      if (fmt === 0) {
        // A type-3 header starting the next message adds this field again (spec §5.3.1.2.4).
        state.timestamp = field;
        state.delta = field;
      } else if (fmt === 1 || fmt === 2) {
        state.delta = field;
        state.timestamp = (state.timestamp + field) >>> 0;
      } else {
        state.timestamp = (state.timestamp + state.delta) >>> 0;
      }
    }
    state.length = length;
    state.type = type;
    state.streamId = streamId;
    state.extended = extended;
    this.#streams.set(csid, state);
    state.parts.push(buf.subarray(pos, pos + take));
    state.received += take;
    pos += take;
    if (state.received >= state.length) {
      const payload = state.parts.length === 1 ? Buffer.from(state.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(state.parts);
      state.parts = [];
      state.received = 0;
      onMessage({ type: state.type, streamId: state.streamId, timestamp: state.timestamp, payload });
    }
    return pos - start;
  }
}

/** A control message body of one 32-bit number (chunk size, ack, window size). */
export function uint32Payload(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** A user control message body: event type, then its 32-bit argument. */
export function userControlPayload(event: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(6);
  out.writeUInt16BE(event, 0);
  out.writeUInt32BE(value >>> 0, 2);
  return out;
}

/** Size of C1/S1/C2/S2. */
export const HANDSHAKE_SIZE = 1536;
export const RTMP_VERSION = 3;

/**
 * C0 + C1 of the simple handshake: version 3, our time, four zero bytes (which tells the server
 * this is the plain handshake, no digest), then random bytes.
 */
export function clientHello(now: number, random: Buffer): Buffer {
  const out = Buffer.alloc(1 + HANDSHAKE_SIZE);
  out[0] = RTMP_VERSION;
  out.writeUInt32BE(now >>> 0, 1);
  random.copy(out, 9, 0, HANDSHAKE_SIZE - 8);
  return out;
}
