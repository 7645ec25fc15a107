import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { isUdpPortBound, releasePortPair, reservePortPair } from '../media/ports.js';
import { buildSdp } from '../media/sdp.js';
import { CHANNELS, SAMPLE_RATE } from './AudioMixer.js';
import { allocPicture, pictureBytes, type Picture } from './picture.js';

export type RtpDecoderEvents = {
  /** A whole decoded picture (video); valid until the next `frame`. */
  frame: [Picture];
  /** Decoded s16le 48 kHz stereo PCM (audio). */
  pcm: [Buffer];
  /** The producer paused / resumed (camera off, mute). */
  paused: [boolean];
  /** ffmpeg ended (before or after its first output); the owner restarts or drops the source. */
  ended: [Error];
};

export interface RtpDecoderOptions {
  id: string;
  router: ms.Router;
  producer: ms.Producer;
  /** Video: the tile size the decoder scales to (aspect kept, padded black). Ignored for audio. */
  width: number;
  height: number;
  /** Simulcast spatial layer to ask mediasoup for. */
  layer: number;
  /** 'fill' crops to the tile (cameras: the label sits on the picture), 'fit' letterboxes (screens). Default 'fill'. */
  fit?: 'fill' | 'fit';
  ffmpegPath: string;
  logger: Logger;
}

/** How often a keyframe is asked for until the first picture comes out. */
const KEYFRAME_REQUEST_MS = 400;
/** How long ffmpeg gets to open its RTP ports. */
const BIND_TIMEOUT_MS = 10_000;

/** Codecs a decoder can take; rtx is left out (ffmpeg does not ask for retransmissions). */
function decoderRtpCapabilities(router: ms.Router): ms.RtpCapabilities {
  const codecs = (router.rtpCapabilities.codecs ?? []).filter((c) => ['audio/opus', 'video/vp8', 'video/h264'].includes(c.mimeType.toLowerCase()));
  return { codecs: codecs.map((c) => ({ ...c, rtcpFeedback: [] })), headerExtensions: [] };
}

/**
 * One on-stage producer decoded by its own ffmpeg: a mediasoup PlainTransport consumer sends RTP
 * (and RTCP) to it; it writes raw yuv420p pictures already scaled to the tile size, or s16le PCM,
 * to its stdout. Pictures are reassembled into two buffers allocated once (no per-frame allocation).
 */
export class RtpDecoder extends TypedEmitter<RtpDecoderEvents> {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  readonly producerId: string;
  readonly width: number;
  readonly height: number;
  readonly #logger: Logger;
  readonly #transport: ms.PlainTransport;
  readonly #consumer: ms.Consumer;
  readonly #port: number;
  readonly #workDir: string;
  #process: FfmpegProcess | null = null;
  #front: Picture | null = null;
  #back: Picture | null = null;
  #filled = 0;
  #keyframeTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Pictures (video) or PCM chunks (audio) received. */
  outputs = 0;
  /** performance.now() of the consumer's resume and of the first output. */
  resumedAt: number | null = null;
  firstOutputAt: number | null = null;

  private constructor(options: RtpDecoderOptions, transport: ms.PlainTransport, consumer: ms.Consumer, port: number, workDir: string, logger: Logger) {
    super(logger);
    this.id = options.id;
    this.kind = consumer.kind;
    this.producerId = options.producer.id;
    this.width = options.width;
    this.height = options.height;
    this.#logger = logger;
    this.#transport = transport;
    this.#consumer = consumer;
    this.#port = port;
    this.#workDir = workDir;
    if (this.kind === 'video') {
      this.#front = allocPicture(options.width, options.height);
      this.#back = allocPicture(options.width, options.height);
    }
    consumer.on('producerpause', () => this.emit('paused', true));
    consumer.on('producerresume', () => {
      this.emit('paused', false);
      this.#requestKeyFrames();
    });
  }

  static async create(options: RtpDecoderOptions): Promise<RtpDecoder> {
    const logger = options.logger.child({ decoder: options.id });
    const port = await reservePortPair();
    let transport: ms.PlainTransport | null = null;
    let decoder: RtpDecoder | null = null;
    try {
      transport = await options.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
      await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
      const consumer = await transport.consume({ producerId: options.producer.id, rtpCapabilities: decoderRtpCapabilities(options.router), paused: true });
      if (consumer.type === 'simulcast' && options.producer.rtpParameters.encodings) {
        const spatialLayer = Math.max(0, Math.min(options.producer.rtpParameters.encodings.length - 1, options.layer));
        await consumer.setPreferredLayers({ spatialLayer, temporalLayer: 2 });
      }
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('consumer has no codec');
      const workDir = await mkdtemp(join(tmpdir(), 'onair-decoder-'));
      decoder = new RtpDecoder(options, transport, consumer, port, workDir, logger);
      const sdpPath = join(workDir, 'in.sdp');
      await writeFile(
        sdpPath,
        buildSdp([
          {
            kind: consumer.kind,
            port,
            payloadType: codec.payloadType,
            mimeType: codec.mimeType,
            clockRate: codec.clockRate,
            channels: codec.channels,
            parameters: Object.fromEntries(
              Object.entries(codec.parameters ?? {}).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number'),
            ),
          },
        ]),
      );
      await decoder.#start(options.ffmpegPath, decoderArgs(sdpPath, consumer.kind, options.width, options.height, options.fit ?? 'fill'));
      return decoder;
    } catch (error) {
      if (decoder) await decoder.close();
      else {
        transport?.close();
        releasePortPair(port);
      }
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get producerPaused(): boolean {
    return this.#consumer.producerPaused;
  }

  /** The newest whole picture (video), or null before the first. */
  get picture(): Picture | null {
    return this.outputs > 0 ? this.#front : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    this.#keyframeTimer = null;
    this.#transport.close();
    const proc = this.#process;
    this.#process = null;
    await proc?.close({ graceMs: 500 });
    releasePortPair(this.#port);
    await rm(this.#workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Asks the sender for a keyframe now (a resume, a new size). */
  requestKeyFrame(): void {
    this.#requestKeyFrames();
  }

  async #start(ffmpegPath: string, args: string[]): Promise<void> {
    const proc = FfmpegProcess.spawn({ ffmpegPath, args, logger: this.#logger, stdout: true });
    this.#process = proc;
    let exitError: Error | null = null;
    const ended = (error: Error): void => {
      exitError = error;
      if (!this.#closed) this.emit('ended', error);
    };
    proc.on('failed', ended);
    proc.on('died', ended);
    proc.stdout?.on('data', (chunk: Buffer) => this.#onData(chunk));
    // ffmpeg must be listening before RTP flows, or the first keyframe is lost.
    const deadline = performance.now() + BIND_TIMEOUT_MS;
    for (;;) {
      if (exitError) throw exitError;
      if (this.#closed) throw new Error('decoder closed while starting');
      const bound = await isUdpPortBound(this.#port);
      if (bound === true) break;
      if (bound === null) {
        await new Promise((r) => setTimeout(r, 300));
        break;
      }
      if (performance.now() > deadline) throw new Error('ffmpeg did not open its RTP port in time');
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.#consumer.resume();
    this.resumedAt = performance.now();
    if (this.kind === 'video') {
      this.#requestKeyFrames();
      this.#keyframeTimer = setInterval(() => this.#requestKeyFrames(), KEYFRAME_REQUEST_MS);
    }
  }

  #requestKeyFrames(): void {
    if (this.kind === 'video' && !this.#consumer.closed) this.#consumer.requestKeyFrame().catch(() => undefined);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.kind === 'audio') {
      this.#markOutput();
      this.emit('pcm', chunk);
      return;
    }
    const size = pictureBytes(this.width, this.height);
    let offset = 0;
    while (offset < chunk.length) {
      const back = this.#back;
      if (!back) return;
      const n = Math.min(size - this.#filled, chunk.length - offset);
      chunk.copy(back.data, this.#filled, offset, offset + n);
      this.#filled += n;
      offset += n;
      if (this.#filled === size) {
        this.#filled = 0;
        this.#back = this.#front;
        this.#front = back;
        this.#markOutput();
        this.emit('frame', back);
      }
    }
  }

  #markOutput(): void {
    this.outputs += 1;
    if (this.firstOutputAt !== null) return;
    this.firstOutputAt = performance.now();
    this.#process?.markReady();
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    this.#keyframeTimer = null;
  }
}

/** RTP (one SDP m-line) in; raw yuv420p at the tile size or s16le 48 kHz stereo out on stdout, flushed per packet. */
export function decoderArgs(sdpPath: string, kind: 'audio' | 'video', width: number, height: number, fit: 'fill' | 'fit' = 'fill'): string[] {
  const size = `${width}:${height}`;
  const scale =
    fit === 'fill'
      ? `scale=${size}:force_original_aspect_ratio=increase:flags=bilinear,crop=${size}`
      : `scale=${size}:force_original_aspect_ratio=decrease:flags=bilinear,pad=${size}:(ow-iw)/2:(oh-ih)/2:color=black`;
  const input = [
    '-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats',
    '-protocol_whitelist', 'file,udp,rtp',
    // The SDP names the codec; waiting to probe the size only delays the first picture (the scaler takes any size).
    '-analyzeduration', '0', '-probesize', '32', '-fflags', 'nobuffer',
    '-reorder_queue_size', '32', '-max_delay', '100000',
    '-buffer_size', '1048576',
    // One decoding thread: no frame-threading delay, and several small decoders share the cores better.
    '-threads', '1',
    '-f', 'sdp', '-i', sdpPath,
  ];
  const output =
    kind === 'video'
      ? [
          '-an', '-filter_threads', '1',
          '-vf', `${scale},setsar=1,format=yuv420p`,
          '-fps_mode', 'passthrough', '-f', 'rawvideo',
        ]
      : ['-vn', '-af', `aresample=${SAMPLE_RATE}`, '-ac', String(CHANNELS), '-ar', String(SAMPLE_RATE), '-f', 's16le'];
  return [...input, ...output, '-flush_packets', '1', 'pipe:1'];
}
