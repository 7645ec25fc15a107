import { randomInt } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { types as ms } from 'mediasoup';
import type { MediaSource } from '@onair/shared';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { buildIngestArgs, type RtpTarget, type VideoHandling } from './ingestArgs.js';

/**
 * How ffmpeg gets an outside source's media. The args are visible to every user of the machine
 * (`/proc/<pid>/cmdline`), so they never hold a secret: an RTMP stream key stays in the OnAir
 * process, which pipes the published FLV into `stdin`.
 */
export interface IngestInput {
  /** ffmpeg's input arguments, e.g. `['-f', 'flv', '-i', 'pipe:0']`. */
  args: string[];
  /** Bytes written to ffmpeg's stdin (RTMP: the published FLV stream); ending it ends the feed. */
  stdin?: Readable;
  /** H.264 the browsers can decode is passed through, anything else transcoded to VP8; null: the source has no video. */
  video: VideoHandling | null;
  /** Whether the source has audio (AAC or anything ffmpeg decodes; it becomes Opus). */
  audio: boolean;
}

export type IngestFeedEvents = {
  /** The first media arrived at the room. */
  live: [];
  /** ffmpeg ended (the source went away or failed), with the reason in plain words. */
  ended: [Error];
};

export interface IngestFeedOptions {
  router: ms.Router;
  input: IngestInput;
  ffmpegPath: string;
  logger: Logger;
}

/** H.264 as every WebRTC browser decodes it (Constrained Baseline), matching the router's codec. */
const H264_PASSTHROUGH: ms.RtpCodecParameters = {
  mimeType: 'video/H264',
  clockRate: 90000,
  payloadType: 102,
  parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
};
const VP8: ms.RtpCodecParameters = { mimeType: 'video/VP8', clockRate: 90000, payloadType: 96 };
const OPUS: ms.RtpCodecParameters = { mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 };

/**
 * One run of an outside source: a PlainTransport and a producer per track, fed by one ffmpeg. A
 * source that goes away and comes back gets a new feed (ffmpeg's new process sends from a new
 * port, which a comedia transport would not accept). close() stops ffmpeg, then closes the
 * producers and transports.
 */
export class IngestFeed extends TypedEmitter<IngestFeedEvents> {
  readonly producers: ReadonlyArray<{ producer: ms.Producer; source: MediaSource }>;
  readonly #transports: ms.PlainTransport[];
  readonly #stdin: Readable | undefined;
  #ffmpeg: FfmpegProcess | null = null;
  #live = false;
  #closed = false;

  private constructor(transports: ms.PlainTransport[], producers: Array<{ producer: ms.Producer; source: MediaSource }>, stdin: Readable | undefined, logger: Logger) {
    super(logger);
    this.#transports = transports;
    this.producers = producers;
    this.#stdin = stdin;
  }

  static async create(options: IngestFeedOptions): Promise<IngestFeed> {
    const { router, input } = options;
    const transports: ms.PlainTransport[] = [];
    const producers: Array<{ producer: ms.Producer; source: MediaSource }> = [];
    const targets: { video: RtpTarget | null; audio: RtpTarget | null } = { video: null, audio: null };
    try {
      for (const kind of ['video', 'audio'] as const) {
        if (kind === 'video' ? input.video === null : !input.audio) continue;
        const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
        transports.push(transport);
        const codec = kind === 'audio' ? OPUS : input.video === 'passthrough' ? H264_PASSTHROUGH : VP8;
        const ssrc = randomInt(1, 2 ** 31);
        const source: MediaSource = kind === 'audio' ? 'mic' : 'camera';
        const producer = await transport.produce({ kind, rtpParameters: { codecs: [codec], encodings: [{ ssrc }] }, appData: { source, outside: true } });
        producers.push({ producer, source });
        targets[kind] = { port: transport.tuple.localPort, rtcpPort: transport.rtcpTuple?.localPort ?? transport.tuple.localPort + 1, payloadType: codec.payloadType, ssrc };
      }
    } catch (error) {
      for (const t of transports) t.close();
      throw error;
    }
    const feed = new IngestFeed(transports, producers, input.stdin, options.logger);
    if (transports.length === 0) {
      feed.close();
      throw new Error('The source has neither video nor audio.');
    }
    feed.#start(options, targets);
    return feed;
  }

  get live(): boolean {
    return this.#live;
  }

  /** ffmpeg's pid (the /proc scan in the tests reads its cmdline and environ). */
  get pid(): number | undefined {
    return this.#ffmpeg?.pid;
  }

  #start(options: IngestFeedOptions, targets: { video: RtpTarget | null; audio: RtpTarget | null }): void {
    const { input } = options;
    const ffmpeg = FfmpegProcess.spawn({
      ffmpegPath: options.ffmpegPath,
      args: buildIngestArgs({
        inputArgs: input.args,
        video: input.video && targets.video ? { handling: input.video, target: targets.video } : null,
        audio: targets.audio ? { target: targets.audio } : null,
      }),
      stdin: input.stdin !== undefined,
      logger: options.logger,
    });
    this.#ffmpeg = ffmpeg;
    const end = (error: Error) => {
      if (this.#closed) return;
      this.emit('ended', error);
    };
    ffmpeg.on('failed', end);
    ffmpeg.on('died', end);
    if (input.stdin && ffmpeg.stdin) input.stdin.pipe(ffmpeg.stdin);
    // A comedia transport learns ffmpeg's address from its first packet: that is the moment media reaches the room.
    const first = this.#transports[0];
    first?.once('tuple', () => {
      if (this.#closed || this.#live) return;
      this.#live = true;
      ffmpeg.markReady();
      this.emit('live');
    });
  }

  /** Stops ffmpeg, then closes the producers (their consumers are told) and the transports. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    const ffmpeg = this.#ffmpeg;
    if (ffmpeg?.stdin) this.#stdin?.unpipe(ffmpeg.stdin);
    for (const t of this.#transports) t.close();
    await ffmpeg?.close({ graceMs: 1000 });
  }
}
