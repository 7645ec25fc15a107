import { createRequire } from 'node:module';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';

/**
 * The RTMP protocol comes from node-media-server 4 (its handshake, chunk stream and AMF parser:
 * `src/protocol/rtmp.js`), used on our own net/tls listeners. Its NodeMediaServer class is not
 * used: it keeps every stream in a process-wide Context, starts an Express HTTP server beside the
 * RTMP one, calls process.exit() when a port is taken, and answers "Publish.Start" before any
 * check, so a wrong key could not be refused at publish. With the parser alone the published
 * audio/video tags stay in this process (piped into ffmpeg's stdin: the stream key never becomes
 * an ffmpeg argument), and the key is checked before the encoder is told it may publish.
 */
const require = createRequire(import.meta.url);

/** What node-media-server's Rtmp parser gives a packet (core/avpacket.js). */
interface NmsPacket {
  codec_id: number;
  codec_type: number;
  flags: number;
  dts: number;
  size: number;
  data: Buffer;
}

interface NmsRtmp {
  streamApp?: string;
  streamId: number;
  parserPacket: { header: { stream_id: number } };
  onConnectCallback: (req: unknown) => void;
  onPlayCallback: () => void;
  onPushCallback: () => void;
  onPacketCallback: (packet: NmsPacket) => void;
  onOutputCallback: (buffer: Buffer) => void;
  parserData(buffer: Buffer): string | null;
  onPublish(invoke: { streamName: string }): void;
  onPlay(invoke: { streamName: string }): void;
  sendStatusMessage(sid: number, level: string, code: string, description: string): void;
}

const Rtmp = require('node-media-server/src/protocol/rtmp.js') as new () => NmsRtmp;
const Flv = require('node-media-server/src/protocol/flv.js') as { createHeader(audio: boolean, video: boolean): Buffer; createMessage(packet: NmsPacket): Buffer };

/** FLV tag types. */
export const FLV_AUDIO = 8;
export const FLV_VIDEO = 9;
export const FLV_SCRIPT = 18;

/** One audio or video message of a publish, as an FLV tag and what the parser read from it. */
export interface RtmpMediaPacket {
  type: typeof FLV_AUDIO | typeof FLV_VIDEO;
  /** The FLV codec id (7 = H.264, 10 = AAC; a FourCC for enhanced RTMP). */
  codecId: number;
  /** The tag's payload (its own copy). */
  payload: Buffer;
  /** The whole FLV tag with its trailing size, ready to write after flvHeader(). */
  tag: Buffer;
  /** A codec configuration record (AVC sequence header, AAC AudioSpecificConfig) rather than media. */
  sequenceHeader: boolean;
}

/** The FLV file header (with audio and video) that goes before a publish's tags. */
export function flvHeader(): Buffer {
  return Flv.createHeader(true, true);
}

export type RtmpPublishEvents = {
  packet: [RtmpMediaPacket];
  /** The encoder stopped publishing or its connection dropped (or close() was called). */
  ended: [];
};

/** One accepted publish. close() drops the encoder's connection (key rotated, source deleted). */
export class RtmpPublish extends TypedEmitter<RtmpPublishEvents> {
  #ended = false;

  constructor(
    readonly secure: boolean,
    readonly remoteAddress: string,
    private readonly socket: Socket,
    logger: Logger,
  ) {
    super(logger);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** @internal the connection's parser hands packets here. */
  deliver(packet: RtmpMediaPacket): void {
    if (!this.#ended) this.emit('packet', packet);
  }

  /** @internal */
  finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit('ended');
    this.removeAllListeners();
  }

  close(): void {
    this.socket.destroy();
    this.finish();
  }
}

/**
 * Decides on a publish: null accepts it (the handler keeps the RtmpPublish and listens to it), a
 * string refuses it with those words (sent to the encoder as NetStream.Publish.BadName).
 */
export type PublishHandler = (streamKey: string, publish: RtmpPublish) => string | null;

export interface RtmpIngestServerOptions {
  host: string;
  /** Plain RTMP port; null: none. */
  rtmpPort: number | null;
  /** RTMPS port and its PEM certificate chain and key; null: none. */
  rtmps: { port: number; cert: string; key: string } | null;
  /** The application part of the URL encoders publish to (`rtmp://host/<app>/<key>`). Default "live". */
  app?: string;
  onPublish: PublishHandler;
  logger: Logger;
}

/** A connection that has not published within this time is dropped (a port scanner, a stuck client). */
const PUBLISH_DEADLINE_MS = 15_000;
/** Connections at once (publishing or not); more are closed at once, so a flood cannot exhaust the process. Default 200. */
const MAX_CONNECTIONS = 200;

/**
 * The RTMP and RTMPS listeners encoders publish to. Each publish's key goes to onPublish before
 * the encoder hears "Publish.Start"; nothing can play a stream from here. close() stops the
 * listeners and drops every connection.
 */
export class RtmpIngestServer {
  readonly #servers: Array<{ server: Server; port: number }> = [];
  readonly #sockets = new Set<Socket>();
  readonly #options: RtmpIngestServerOptions;
  #closed = false;

  private constructor(options: RtmpIngestServerOptions) {
    this.#options = options;
  }

  /** Listens on the configured ports; throws in plain words naming the variable when a port cannot be had. */
  static async start(options: RtmpIngestServerOptions): Promise<RtmpIngestServer> {
    const server = new RtmpIngestServer(options);
    try {
      if (options.rtmpPort !== null) {
        await server.#listen(createTcpServer((s) => server.#accept(s, false)), options.rtmpPort, 'INGEST_RTMP_PORT');
      }
      if (options.rtmps) {
        const tls = createTlsServer({ cert: options.rtmps.cert, key: options.rtmps.key }, (s) => server.#accept(s, true));
        // A client that fails the TLS handshake concerns only itself.
        tls.on('tlsClientError', (error) => options.logger.debug({ err: error }, 'rtmps handshake failed'));
        await server.#listen(tls, options.rtmps.port, 'INGEST_RTMPS_PORT');
      }
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The ports actually listened on, plain RTMP first (0 in the options means a free port was taken). */
  get ports(): { rtmp: number | null; rtmps: number | null } {
    const plain = this.#options.rtmpPort !== null ? this.#servers[0] : undefined;
    const secure = this.#options.rtmps ? this.#servers[this.#options.rtmpPort !== null ? 1 : 0] : undefined;
    return { rtmp: plain?.port ?? null, rtmps: secure?.port ?? null };
  }

  async #listen(server: Server, port: number, variable: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'is already in use by another program' : error.code === 'EACCES' ? 'needs privileges this process does not have' : `cannot be used (${error.message})`;
        reject(new Error(`${variable}: port ${port} on ${this.#options.host} ${why}. Choose another port, or 0 to turn RTMP ingest off.`));
      });
      server.listen(port, this.#options.host, () => resolve());
    });
    const address = server.address();
    this.#servers.push({ server, port: typeof address === 'object' && address ? address.port : port });
    server.on('error', (error) => this.#options.logger.error({ err: error }, 'rtmp ingest listener error'));
  }

  #accept(socket: Socket, secure: boolean): void {
    if (this.#closed || this.#sockets.size >= MAX_CONNECTIONS) {
      if (!this.#closed) this.#options.logger.warn({ connections: this.#sockets.size }, 'too many RTMP connections; refusing one');
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    const logger = this.#options.logger;
    const app = this.#options.app ?? 'live';
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const rtmp = new Rtmp();
    let publish: RtmpPublish | null = null;
    const deadline = setTimeout(() => {
      if (!publish) socket.destroy();
    }, PUBLISH_DEADLINE_MS);

    const refuse = (description: string): void => {
      rtmp.sendStatusMessage(rtmp.parserPacket.header.stream_id, 'error', 'NetStream.Publish.BadName', description);
      // Give the status message a moment to leave before the connection closes.
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    };

    rtmp.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    rtmp.onPublish = (invoke) => {
      if (publish) return refuse('This connection is already publishing.');
      const [streamKey = ''] = String(invoke.streamName ?? '').split('?');
      if (rtmp.streamApp !== app) {
        logger.info({ remote, app: rtmp.streamApp }, 'rtmp publish refused: wrong application');
        return refuse(`Publish to rtmp://<server>/${app}/<stream key>.`);
      }
      const candidate = new RtmpPublish(secure, remote, socket, logger);
      const refusal = streamKey ? this.#options.onPublish(streamKey, candidate) : 'The stream key is missing.';
      if (refusal !== null) {
        logger.info({ remote, reason: refusal }, 'rtmp publish refused');
        return refuse(refusal);
      }
      publish = candidate;
      clearTimeout(deadline);
      rtmp.streamId = rtmp.parserPacket.header.stream_id;
      rtmp.sendStatusMessage(rtmp.streamId, 'status', 'NetStream.Publish.Start', 'Publishing.');
    };
    rtmp.onPlay = () => {
      rtmp.sendStatusMessage(rtmp.parserPacket.header.stream_id, 'error', 'NetStream.Play.Failed', 'This server takes publishes only.');
      socket.end();
    };
    rtmp.onPacketCallback = (packet) => {
      if (!publish || (packet.codec_type !== FLV_AUDIO && packet.codec_type !== FLV_VIDEO)) return;
      // The parser reuses its payload buffer for the next message: copy now.
      const payload = Buffer.from(packet.data.subarray(0, packet.size));
      const type = packet.codec_type;
      const sequenceHeader = type === FLV_VIDEO ? packet.flags === 2 : packet.flags === 0;
      publish.deliver({ type, codecId: packet.codec_id, payload, tag: Flv.createMessage({ ...packet, data: payload }), sequenceHeader });
    };

    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => {
      let error: string | null;
      try {
        error = rtmp.parserData(data);
      } catch (thrown) {
        error = thrown instanceof Error ? thrown.message : String(thrown);
      }
      if (error) {
        logger.debug({ remote, error }, 'rtmp protocol error; closing the connection');
        socket.destroy();
      }
    });
    socket.on('error', (error) => logger.debug({ remote, err: error }, 'rtmp connection error'));
    socket.on('close', () => {
      clearTimeout(deadline);
      this.#sockets.delete(socket);
      publish?.finish();
    });
  }

  /** Stops listening and drops every connection (their publishes end). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(this.#servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
