// An RTMP(S) publishing client inside the server process, so a stream key is never in a process's
// arguments or environment (an ffmpeg pusher had the full URL on its command line, readable by any
// local user through ps or /proc/<pid>/cmdline). npm has no maintained RTMP *publishing client*:
// node-media-server and the like are servers. Written from the RTMP 1.0 spec; the command flow is
// the one OBS and ffmpeg's libavformat/rtmpproto.c use with YouTube, Facebook, Twitch and nginx-rtmp.
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { redact, type Logger } from '../../logger.js';
import { TypedEmitter } from '../../media/TypedEmitter.js';
import { FlvParser, isAacSequenceHeader, isAvcEndOfSequence, isAvcSequenceHeader, isVideoKeyframe, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO, type FlvTag } from '../../flv/flv.js';
import { describeConnectionError, type DescribedFailure } from '../errors.js';
import { parsePublishUrl, type RtmpEndpoint } from '../url.js';
import { SendMeter } from './SendMeter.js';
import { amfObject, decodeAmf0, encodeAmf0, type AmfValue } from './amf0.js';
import {
  ChunkReader,
  ChunkWriter,
  clientHello,
  EVENT_PING_REQUEST,
  EVENT_PING_RESPONSE,
  HANDSHAKE_SIZE,
  MSG_ABORT,
  MSG_ACKNOWLEDGEMENT,
  MSG_AUDIO,
  MSG_COMMAND_AMF0,
  MSG_COMMAND_AMF3,
  MSG_DATA_AMF0,
  MSG_SET_CHUNK_SIZE,
  MSG_SET_PEER_BANDWIDTH,
  MSG_USER_CONTROL,
  MSG_VIDEO,
  MSG_WINDOW_ACK_SIZE,
  RTMP_VERSION,
  uint32Payload,
  userControlPayload,
  type RtmpMessage,
} from './chunks.js';
import { trustContext } from './trust.js';

/** Chunk streams: protocol control, connection commands, stream commands, then one per media type. */
const CSID_CONTROL = 2;
const CSID_COMMAND = 3;
const CSID_AUDIO = 4;
const CSID_DATA = 5;
const CSID_VIDEO = 6;
const CSID_STREAM_COMMAND = 8;

/** Our outgoing chunk size (the default 128 would cost a header every 128 bytes). */
const CHUNK_SIZE = 4096;
/** The acknowledgement window we ask the server to use for what we send. */
const OUR_ACK_WINDOW = 2_500_000;
/** A graceful stop waits this long for the server to take the last bytes and close. */
const STOP_GRACE_MS = 3000;
const PROGRESS_INTERVAL_MS = 1000;
/** The server counts as taking media once the operating system took this much of it (media time) after NetStream.Publish.Start. */
const MEDIA_TAKEN_MS = 1000;
/** What OBS sends; servers use "FMLE" to tell an encoder from a player. */
const FLASH_VERSION = 'FMLE/3.0 (compatible; FMSc/1.0)';

export interface PublishProgress {
  /** Bytes the operating system has taken for sending (what is still in the socket buffer is not counted). */
  totalSize: number;
  /** Video frames the operating system has taken for sending. */
  frames: number;
  /**
   * The server has taken media: after it accepted the stream, at least a second of media (from a
   * keyframe on) has left this process for it. Before that the publish is accepted but not yet live.
   */
  mediaTaken: boolean;
  /** Measured from the timestamps of the frames taken (see SendMeter): never more than the stream's own rate. */
  fps: number;
  bitrateKbps: number;
}

export interface RtmpPublisherOptions {
  /** rtmp(s)://host[:port]/app/key. */
  publishUrl: string;
  /** Publish even if the rtmps:// server's certificate fails verification. Default false. */
  allowUntrustedCertificate?: boolean;
  /** CA certificates (PEM) trusted on top of the system store (tests). Default none. */
  extraCa?: string[];
  /** Called with every audio, video and script tag as it is written to the server, with the timestamp it is sent with. Default none. */
  onTagSent?: (tag: FlvTag) => void;
  logger: Logger;
}

export type RtmpPublisherEvents = {
  /** The server answered NetStream.Publish.Start: the stream is accepted and media is sent (progress.mediaTaken says when it has left). */
  live: [];
  /** About once a second while live. */
  progress: [PublishProgress];
  /** The publish ended by itself (refused, not trusted, dropped …), before or after going live. Emitted once. */
  failed: [DescribedFailure];
};

type Phase = 'handshake' | 'connecting' | 'creating' | 'publishing' | 'live' | 'closed';

type Pending = 'connect' | 'releaseStream' | 'FCPublish' | 'createStream' | 'other';

/**
 * One publish to an RTMP(S) server, fed with FLV. Connects (TLS verified against the system CA
 * store for rtmps://), does the simple handshake, connect → releaseStream/FCPublish/createStream
 * → publish, and waits for NetStream.Publish.Start; FLV written before that is kept from the
 * latest keyframe on and sent as soon as the server accepts the stream.
 */
export class RtmpPublisher extends TypedEmitter<RtmpPublisherEvents> {
  readonly #options: RtmpPublisherOptions;
  readonly #logger: Logger;
  readonly #endpoint: RtmpEndpoint;
  readonly #writer = new ChunkWriter();
  readonly #reader = new ChunkReader();
  readonly #parser = new FlvParser();
  readonly #pending = new Map<number, Pending>();
  readonly #closedPromise: Promise<void>;
  #resolveClosed: () => void = () => undefined;
  #socket: Socket | TLSSocket | null = null;
  #phase: Phase = 'handshake';
  #stopping = false;
  #handshake: Buffer = Buffer.alloc(0);
  #transaction = 0;
  #streamId = 0;
  #bytesOut = 0;
  #bytesIn = 0;
  #lastAckSent = 0;
  #serverAckWindow = 0;
  /** The acknowledgement window we last told the server. */
  #windowSent = 0;
  readonly #meter = new SendMeter();
  #mediaTaken = false;
  #baseTimestamp: number | null = null;
  #metadata: FlvTag | null = null;
  #avcHeader: FlvTag | null = null;
  #aacHeader: FlvTag | null = null;
  #queue: FlvTag[] = [];
  #queuedBytes = 0;
  #progressTimer: NodeJS.Timeout | null = null;

  private constructor(options: RtmpPublisherOptions, endpoint: RtmpEndpoint) {
    super(options.logger);
    this.#options = options;
    this.#logger = options.logger;
    this.#endpoint = endpoint;
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Starts connecting at once; write() may be called right away. A bad URL is reported as `failed`. */
  static start(options: RtmpPublisherOptions): RtmpPublisher {
    let endpoint: RtmpEndpoint;
    try {
      endpoint = parsePublishUrl(options.publishUrl);
    } catch (error) {
      const publisher = new RtmpPublisher(options, { secure: false, hostname: '', port: 0, host: 'the server', app: '', tcUrl: '', streamName: '' });
      setImmediate(() => publisher.#fail({ kind: 'unsupported', message: error instanceof Error ? error.message : String(error) }));
      return publisher;
    }
    const publisher = new RtmpPublisher(options, endpoint);
    publisher.#open();
    return publisher;
  }

  /** host[:port] of the server, for messages. */
  get host(): string {
    return this.#endpoint.host;
  }

  get live(): boolean {
    return this.#phase === 'live';
  }

  /** The server has taken media, not only accepted the stream (see PublishProgress.mediaTaken). */
  get mediaTaken(): boolean {
    return this.#mediaTaken;
  }

  /** Bytes written but not yet sent: the socket's buffer plus FLV waiting for the server to accept the stream. */
  get backlogBytes(): number {
    return this.#queuedBytes + (this.#socket?.writableLength ?? 0);
  }

  /** FLV bytes as the relay produces them (header first). Never blocks. */
  write(chunk: Buffer): void {
    if (this.#phase === 'closed' || this.#stopping) return;
    let tags: FlvTag[];
    try {
      tags = this.#parser.push(chunk);
    } catch (error) {
      this.#fail({ kind: 'transient', message: `The stream for ${this.host} could not be read (${error instanceof Error ? error.message : String(error)}).` });
      return;
    }
    for (const tag of tags) {
      if (this.#phase === 'live') this.#sendTag(tag);
      else this.#hold(tag);
    }
  }

  /**
   * Ends the publish. graceful: FCUnpublish + deleteStream, then close once the last bytes are
   * out (at most 3 s); otherwise drop the connection. No event is emitted after this.
   */
  async stop(graceful: boolean): Promise<void> {
    if (this.#stopping || this.#phase === 'closed') return this.#closedPromise;
    this.#stopping = true;
    this.removeAllListeners();
    this.#clearProgress();
    const socket = this.#socket;
    if (!socket) {
      this.#phase = 'closed';
      this.#resolveClosed();
      return this.#closedPromise;
    }
    if (graceful && this.#phase === 'live' && !socket.destroyed) {
      this.#command(CSID_COMMAND, 0, 'FCUnpublish', null, this.#endpoint.streamName);
      this.#command(CSID_COMMAND, 0, 'deleteStream', null, this.#streamId);
      socket.end();
      const timer = setTimeout(() => socket.destroy(), STOP_GRACE_MS);
      timer.unref();
      await this.#closedPromise;
      clearTimeout(timer);
      return;
    }
    socket.destroy();
    return this.#closedPromise;
  }

  #open(): void {
    const { secure, hostname, port } = this.#endpoint;
    const socket = secure
      ? connectTls({
          host: hostname,
          port,
          // SNI takes host names only; the identity check then uses `host` (an IP address SAN).
          ...(isIP(hostname) ? {} : { servername: hostname }),
          secureContext: trustContext(this.#options.extraCa ?? []),
          rejectUnauthorized: !(this.#options.allowUntrustedCertificate ?? false),
        })
      : connectTcp({ host: hostname, port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.once(secure ? 'secureConnect' : 'connect', () => this.#onConnected());
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', (error) => this.#onSocketError(error));
    socket.once('close', () => this.#onClose());
  }

  #onConnected(): void {
    const socket = this.#socket;
    if (!socket || this.#phase === 'closed') return;
    if ('authorized' in socket && !socket.authorized) {
      // Only reachable with allowUntrustedCertificate: say so in the log, once per connection.
      const reason = socket.authorizationError ? String(socket.authorizationError) : 'unknown reason';
      this.#logger.warn({ host: this.host, reason: redact(reason) }, 'publishing over TLS with an untrusted certificate (allowed for this destination)');
    }
    this.#send(clientHello(Date.now(), randomBytes(HANDSHAKE_SIZE)));
  }

  #onData(data: Buffer): void {
    if (this.#phase === 'closed') return;
    let rest = data;
    if (this.#phase === 'handshake') {
      this.#handshake = Buffer.concat([this.#handshake, data]);
      const need = 1 + 2 * HANDSHAKE_SIZE;
      if (this.#handshake.length < need) return;
      if (this.#handshake[0] !== RTMP_VERSION) {
        this.#fail({ kind: 'transient', message: `${this.host} did not answer as an RTMP server.` });
        return;
      }
      const s1 = this.#handshake.subarray(1, 1 + HANDSHAKE_SIZE);
      rest = this.#handshake.subarray(need);
      this.#handshake = Buffer.alloc(0);
      this.#afterHandshake(Buffer.from(s1));
      if (rest.length === 0) return;
    }
    this.#bytesIn += rest.length;
    try {
      this.#reader.push(rest, (message) => this.#onMessage(message));
    } catch (error) {
      this.#fail({ kind: 'transient', message: `${this.host} sent data this server cannot read (${error instanceof Error ? error.message : String(error)}).` });
      return;
    }
    if (this.#serverAckWindow > 0 && this.#bytesIn - this.#lastAckSent >= this.#serverAckWindow) {
      this.#lastAckSent = this.#bytesIn;
      this.#control(MSG_ACKNOWLEDGEMENT, uint32Payload(this.#bytesIn));
    }
  }

  /** C2 (the echo of S1), our chunk size and acknowledgement window, then connect. */
  #afterHandshake(s1: Buffer): void {
    this.#send(s1);
    this.#control(MSG_SET_CHUNK_SIZE, uint32Payload(CHUNK_SIZE));
    this.#writer.setChunkSize(CHUNK_SIZE);
    this.#control(MSG_WINDOW_ACK_SIZE, uint32Payload(OUR_ACK_WINDOW));
    this.#windowSent = OUR_ACK_WINDOW;
    const { app, tcUrl } = this.#endpoint;
    this.#phase = 'connecting';
    this.#request('connect', CSID_COMMAND, 0, 'connect', { app, type: 'nonprivate', flashVer: FLASH_VERSION, swfUrl: tcUrl, tcUrl });
  }

  #onMessage(message: RtmpMessage): void {
    if (this.#phase === 'closed') return;
    const p = message.payload;
    switch (message.type) {
      case MSG_SET_CHUNK_SIZE:
        if (p.length >= 4) this.#reader.setChunkSize(p.readUInt32BE(0) & 0x7fffffff);
        return;
      case MSG_ABORT:
        if (p.length >= 4) this.#reader.abort(p.readUInt32BE(0));
        return;
      case MSG_WINDOW_ACK_SIZE:
        if (p.length >= 4) this.#serverAckWindow = p.readUInt32BE(0);
        return;
      case MSG_SET_PEER_BANDWIDTH:
        // The spec asks for our window in reply when it differs from the last one we sent.
        if (p.length >= 4 && p.readUInt32BE(0) !== this.#windowSent) {
          this.#windowSent = p.readUInt32BE(0);
          this.#control(MSG_WINDOW_ACK_SIZE, uint32Payload(this.#windowSent));
        }
        return;
      case MSG_USER_CONTROL:
        if (p.length >= 6 && p.readUInt16BE(0) === EVENT_PING_REQUEST) {
          this.#control(MSG_USER_CONTROL, userControlPayload(EVENT_PING_RESPONSE, p.readUInt32BE(2)));
        }
        return;
      case MSG_COMMAND_AMF0:
      case MSG_COMMAND_AMF3: {
        let values: AmfValue[];
        try {
          // An AMF3 command starts with a format byte, then is AMF0 in practice.
          values = decodeAmf0(message.type === MSG_COMMAND_AMF3 ? p.subarray(1) : p);
        } catch (error) {
          this.#logger.debug({ err: error }, 'rtmp: unreadable command from the server');
          return;
        }
        this.#onCommand(values);
        return;
      }
      case MSG_ACKNOWLEDGEMENT:
      default:
        return;
    }
  }

  #onCommand(values: AmfValue[]): void {
    const [name, transaction, , ...args] = values;
    if (name === '_result' || name === '_error') {
      const id = typeof transaction === 'number' ? transaction : -1;
      const purpose = this.#pending.get(id);
      this.#pending.delete(id);
      if (purpose) this.#onReply(purpose, name === '_result', args);
      return;
    }
    if (name === 'onStatus') {
      this.#onStatus(amfObject(args[0]));
      return;
    }
    if (name === 'close') {
      this.#fail({ kind: 'transient', message: `${this.host} closed the connection.` });
    }
    // onBWDone, onFCPublish and the like need no answer from a publisher.
  }

  #onReply(purpose: Pending, ok: boolean, args: AmfValue[]): void {
    if (purpose === 'connect') {
      if (!ok) {
        const info = amfObject(args[0]);
        this.#fail({ kind: 'refused', message: `The platform refused the connection${detail(info)}; check the server URL and the stream key.` });
        return;
      }
      const { streamName } = this.#endpoint;
      this.#request('releaseStream', CSID_COMMAND, 0, 'releaseStream', null, streamName);
      this.#request('FCPublish', CSID_COMMAND, 0, 'FCPublish', null, streamName);
      this.#request('createStream', CSID_COMMAND, 0, 'createStream', null);
      this.#phase = 'creating';
      return;
    }
    if (purpose === 'createStream') {
      const streamId = args[0];
      if (!ok || typeof streamId !== 'number') {
        this.#fail({ kind: 'refused', message: 'The platform refused to open a stream.' });
        return;
      }
      this.#streamId = streamId;
      this.#phase = 'publishing';
      this.#request('other', CSID_STREAM_COMMAND, streamId, 'publish', null, this.#endpoint.streamName, 'live');
    }
    // releaseStream / FCPublish: many servers answer _error or nothing; neither matters.
  }

  #onStatus(info: Record<string, AmfValue>): void {
    const code = typeof info.code === 'string' ? info.code : '';
    if (code === 'NetStream.Publish.Start') {
      if (this.#phase === 'publishing') this.#goLive();
      return;
    }
    const isError = info.level === 'error' || /\.(BadName|Denied|Rejected|Failed|Forbidden|BadConnection)$/.test(code);
    if (!isError) return;
    if (this.#phase === 'live') this.#fail({ kind: 'transient', message: `${this.host} ended the stream${detail(info)}.` });
    else this.#fail({ kind: 'refused', message: `The platform refused the stream key${detail(info)}.` });
  }

  #goLive(): void {
    this.#phase = 'live';
    this.#logger.debug({ host: this.host, app: this.#endpoint.app }, 'rtmp: publishing');
    const held = [this.#metadata, this.#avcHeader, this.#aacHeader, ...this.#queue].filter((t): t is FlvTag => t !== null);
    // Time 0 is the first frame held (a keyframe); sequence headers held from earlier clamp to 0.
    this.#baseTimestamp = this.#queue[0]?.timestamp ?? null;
    this.#metadata = null;
    this.#avcHeader = null;
    this.#aacHeader = null;
    this.#queue = [];
    this.#queuedBytes = 0;
    for (const tag of held) this.#sendTag(tag);
    this.#progressTimer = setInterval(() => this.#emitProgress(), PROGRESS_INTERVAL_MS);
    this.#progressTimer.unref();
    this.emit('live');
    this.#emitProgress();
  }

  /**
   * Before the server accepts the stream: keep the latest metadata and sequence headers, and the
   * media from the latest keyframe on, so the stream starts on a keyframe and as recent as possible.
   */
  #hold(tag: FlvTag): void {
    if (tag.type === TAG_SCRIPT) {
      this.#metadata = tag;
    } else if (isAvcSequenceHeader(tag)) {
      this.#avcHeader = tag;
    } else if (isAacSequenceHeader(tag)) {
      this.#aacHeader = tag;
    } else {
      if (isVideoKeyframe(tag)) {
        this.#queue = [];
        this.#queuedBytes = 0;
      }
      this.#queue.push(tag);
      this.#queuedBytes += tag.data.length;
    }
  }

  #sendTag(tag: FlvTag): void {
    if (isAvcEndOfSequence(tag)) return;
    if (tag.type === TAG_SCRIPT) {
      const onMetaData = decodeName(tag.data) === 'onMetaData';
      const payload = onMetaData ? Buffer.concat([encodeAmf0('@setDataFrame'), tag.data]) : tag.data;
      this.#send(this.#writer.encode(CSID_DATA, { type: MSG_DATA_AMF0, streamId: this.#streamId, timestamp: 0, payload }));
      this.#options.onTagSent?.({ type: TAG_SCRIPT, timestamp: 0, data: tag.data });
      return;
    }
    if (tag.type !== TAG_AUDIO && tag.type !== TAG_VIDEO) return;
    // Timestamps as the FLV tags carry them, starting from 0 for this connection.
    this.#baseTimestamp ??= tag.timestamp;
    const timestamp = Math.max(0, tag.timestamp - this.#baseTimestamp);
    const video = tag.type === TAG_VIDEO;
    this.#send(this.#writer.encode(video ? CSID_VIDEO : CSID_AUDIO, { type: video ? MSG_VIDEO : MSG_AUDIO, streamId: this.#streamId, timestamp, payload: tag.data }));
    this.#meter.sent({ timestamp, bytes: tag.data.length, video: video && !isAvcSequenceHeader(tag), end: this.#bytesOut });
    this.#options.onTagSent?.({ type: tag.type, timestamp, data: tag.data });
  }

  #request(purpose: Pending, csid: number, streamId: number, name: string, ...args: AmfValue[]): void {
    this.#transaction += 1;
    this.#pending.set(this.#transaction, purpose);
    this.#send(this.#writer.encode(csid, { type: MSG_COMMAND_AMF0, streamId, timestamp: 0, payload: encodeAmf0(name, this.#transaction, ...args) }));
  }

  /** A command nobody waits an answer for (transaction 0). */
  #command(csid: number, streamId: number, name: string, ...args: AmfValue[]): void {
    this.#send(this.#writer.encode(csid, { type: MSG_COMMAND_AMF0, streamId, timestamp: 0, payload: encodeAmf0(name, 0, ...args) }));
  }

  #control(type: number, payload: Buffer): void {
    this.#send(this.#writer.encode(CSID_CONTROL, { type, streamId: 0, timestamp: 0, payload }));
  }

  #send(bytes: Buffer): void {
    const socket = this.#socket;
    if (!socket || socket.destroyed || !socket.writable) return;
    socket.write(bytes);
    this.#bytesOut += bytes.length;
  }

  #emitProgress(): void {
    if (this.#phase !== 'live') return;
    const totalSize = Math.max(0, this.#bytesOut - (this.#socket?.writableLength ?? 0));
    this.#meter.flushed(totalSize, performance.now());
    if (!this.#mediaTaken && this.#meter.mediaMs >= MEDIA_TAKEN_MS) this.#mediaTaken = true;
    this.emit('progress', { totalSize, frames: this.#meter.frames, mediaTaken: this.#mediaTaken, ...this.#meter.rates() });
  }

  #onSocketError(error: Error): void {
    if (this.#phase === 'closed' || this.#stopping) return;
    const failure = describeConnectionError(error, this.host);
    this.#logger.debug({ err: error, host: this.host }, 'rtmp: connection error');
    this.#fail(failure);
  }

  #onClose(): void {
    const wasStopping = this.#stopping;
    if (this.#phase !== 'closed' && !wasStopping) {
      // nginx-rtmp and most platforms just hang up on a publish they do not accept (unknown key or application).
      if (this.#phase === 'connecting' || this.#phase === 'creating' || this.#phase === 'publishing') {
        this.#fail({ kind: 'refused', message: 'The platform refused the stream key (or the application path is wrong).' });
      } else {
        this.#fail({ kind: 'transient', message: `The connection to ${this.host} was dropped.` });
      }
    }
    this.#phase = 'closed';
    this.#clearProgress();
    this.#resolveClosed();
  }

  #fail(failure: DescribedFailure): void {
    if (this.#phase === 'closed' || this.#stopping) return;
    this.#phase = 'closed';
    this.#clearProgress();
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#socket) this.#socket.destroy();
    else this.#resolveClosed();
    this.emit('failed', { kind: failure.kind, message: redact(failure.message) });
    this.removeAllListeners();
  }

  #clearProgress(): void {
    if (this.#progressTimer) clearInterval(this.#progressTimer);
    this.#progressTimer = null;
  }
}

/** " (code: description)" from an onStatus / _error info object, redacted and short; "" when empty. */
function detail(info: Record<string, AmfValue>): string {
  const code = typeof info.code === 'string' ? info.code : '';
  const description = typeof info.description === 'string' ? info.description : '';
  const text = [code, description].filter(Boolean).join(': ');
  return text ? ` (${redact(text).slice(0, 160)})` : '';
}

/** The name a script tag starts with (an AMF0 string), '' when it does not start with one. */
function decodeName(data: Buffer): string {
  if (data[0] !== 0x02 || data.length < 3) return '';
  const length = data.readUInt16BE(1);
  return data.toString('utf8', 3, 3 + length);
}
