import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types as ms } from 'mediasoup';
import type { Resolution } from '@onair/shared';
import type { Logger } from '../../server/src/logger.js';
import { FfmpegProcess } from '../../server/src/media/FfmpegProcess.js';
import { TypedEmitter } from '../../server/src/media/TypedEmitter.js';
import { buildComposerArgs, buildFilterGraph, DEFAULT_FONT_FILE } from './xstackArgs.js';
import { FlvParser, TAG_VIDEO, type FlvTag } from '../../server/src/flv/flv.js';
import type { Composition } from './plan.js';
import { releasePortPair, reservePortPair, waitForUdpPort } from '../../server/src/media/ports.js';
import { buildSdp, type SdpMedia } from '../../server/src/media/sdp.js';

export type ComposerEvents = {
  /** One FLV tag of the composed output. */
  tag: [FlvTag];
  /** ffmpeg ended (or never produced output) before the first video tag. */
  failed: [Error];
  /** ffmpeg ended after producing output. */
  died: [Error];
};

export interface ComposerOptions {
  id: string;
  router: ms.Router;
  composition: Composition;
  resolution: Resolution;
  /** Producers by id, for every input of the composition. */
  producers: Map<string, ms.Producer>;
  ffmpegPath: string;
  logger: Logger;
  /** Font for names and titles; default DejaVu Sans, no text when the file is missing. */
  fontFile?: string;
  /** The simulcast layer to take from every camera; default the top one. */
  spatialLayer?: number;
}

interface RtpInput {
  port: number;
  transport: ms.PlainTransport;
  consumer: ms.Consumer;
}

/** How often keyframes are asked for until the first video frame comes out. */
const KEYFRAME_REQUEST_MS = 500;
/** ffmpeg's stderr lines for lost RTP, a broken picture or a full demuxer queue. */
const RTP_LOSS = /RTP: missed|jitter buffer full|sequence broken|Thread message queue blocking/;
/** How long ffmpeg gets to open its RTP ports. */
const BIND_TIMEOUT_MS = 10_000;

/** Codecs the composer can decode; rtx is left out (ffmpeg does not ask for retransmissions). */
function composerRtpCapabilities(router: ms.Router): ms.RtpCapabilities {
  const codecs = (router.rtpCapabilities.codecs ?? []).filter((c) =>
    ['audio/opus', 'video/vp8', 'video/h264'].includes(c.mimeType.toLowerCase()),
  );
  return { codecs: codecs.map((c) => ({ ...c, rtcpFeedback: [] })), headerExtensions: [] };
}

/**
 * One run of the composer ffmpeg: its PlainTransports and consumers (one per input), its SDP, and
 * the FLV it produces. A membership change makes a new Composer; the old one is closed once the
 * relay has switched over.
 */
export class Composer extends TypedEmitter<ComposerEvents> {
  readonly id: string;
  readonly composition: Composition;
  readonly #logger: Logger;
  readonly #inputs: RtpInput[];
  readonly #workDir: string;
  readonly #parser = new FlvParser();
  #process: FfmpegProcess | null = null;
  #keyframeTimer: NodeJS.Timeout | null = null;
  #sawVideo = false;
  #closed = false;
  /** performance.now() when the consumers were resumed (RTP started flowing). */
  resumedAt: number | null = null;
  /** performance.now() of the first video tag out. */
  firstVideoAt: number | null = null;
  /** Stderr lines so far that say RTP was lost or a picture broken (what a falling-behind ffmpeg prints). */
  rtpLossLines = 0;

  private constructor(options: ComposerOptions, inputs: RtpInput[], workDir: string) {
    super(options.logger);
    this.id = options.id;
    this.composition = options.composition;
    this.#logger = options.logger;
    this.#inputs = inputs;
    this.#workDir = workDir;
  }

  /** Creates transports and paused consumers, starts ffmpeg, and resumes the consumers once it listens. */
  static async create(options: ComposerOptions): Promise<Composer> {
    const logger = options.logger.child({ composer: options.id });
    const workDir = await mkdtemp(join(tmpdir(), 'onair-composer-'));
    const inputs: RtpInput[] = [];
    const composer = new Composer({ ...options, logger }, inputs, workDir);
    try {
      const rtpCapabilities = composerRtpCapabilities(options.router);
      const media: SdpMedia[] = [];
      for (const input of options.composition.inputs) {
        const producer = options.producers.get(input.producerId);
        if (!producer || producer.closed) throw new Error(`producer ${input.producerId} is gone`);
        const port = await reservePortPair();
        const transport = await options.router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: false,
          comedia: false,
        });
        try {
          await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
          const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
          inputs.push({ port, transport, consumer });
          // A plain compositor takes each camera's top simulcast layer and scales it down itself.
          if (consumer.type === 'simulcast' && producer.rtpParameters.encodings) {
            const top = producer.rtpParameters.encodings.length - 1;
            await consumer.setPreferredLayers({ spatialLayer: Math.min(top, options.spatialLayer ?? top), temporalLayer: 2 });
          }
          const codec = consumer.rtpParameters.codecs[0];
          if (!codec) throw new Error('consumer has no codec');
          media.push({
            kind: input.kind,
            port,
            payloadType: codec.payloadType,
            mimeType: codec.mimeType,
            clockRate: codec.clockRate,
            channels: codec.channels,
            parameters: Object.fromEntries(
              Object.entries(codec.parameters ?? {}).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number'),
            ),
          });
        } catch (error) {
          if (!inputs.some((i) => i.transport === transport)) {
            transport.close();
            releasePortPair(port);
          }
          throw error;
        }
      }
      const fontFile = options.fontFile ?? DEFAULT_FONT_FILE;
      const graph = buildFilterGraph(options.composition, {
        fontFile: existsSync(fontFile) ? fontFile : null,
        textDir: workDir,
      });
      await Promise.all(graph.texts.map((t) => writeFile(t.path, t.text)));
      const sdpPaths = media.map((_, i) => join(workDir, `input-${i}.sdp`));
      await Promise.all(media.map((m, i) => writeFile(sdpPaths[i]!, buildSdp([m]))));
      const args = buildComposerArgs({ sdpPaths, filterGraph: graph.graph, resolution: options.resolution });
      logger.debug({ args }, 'starting composer');
      await composer.#start(options.ffmpegPath, args);
      return composer;
    } catch (error) {
      await composer.close();
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes of FLV produced so far. */
  get bytesOut(): number {
    return this.#parser.bytes;
  }

  /** Whether this composer consumes the producer (its stream is part of the picture or the mix). */
  hasProducer(producerId: string): boolean {
    return this.#inputs.some((i) => i.consumer.producerId === producerId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
    this.#keyframeTimer = null;
    const proc = this.#process;
    this.#process = null;
    for (const input of this.#inputs) {
      input.transport.close();
    }
    await proc?.close({ graceMs: 1500 });
    for (const input of this.#inputs) releasePortPair(input.port);
    await rm(this.#workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  async #start(ffmpegPath: string, args: string[]): Promise<void> {
    const proc = FfmpegProcess.spawn({
      ffmpegPath,
      args,
      logger: this.#logger,
      stdout: true,
      onStderrLine: (line) => {
        if (RTP_LOSS.test(line)) this.rtpLossLines += 1;
        return false;
      },
    });
    this.#process = proc;
    let exitError: Error | null = null;
    proc.on('failed', (error) => {
      exitError = error;
      if (!this.#closed) this.emit('failed', error);
    });
    proc.on('died', (error) => {
      if (!this.#closed) this.emit('died', error);
    });
    proc.stdout?.on('data', (chunk: Buffer) => this.#onData(chunk, proc));

    if (this.#inputs.length === 0) return;
    // ffmpeg opens its inputs one after another, each reading a packet before the next binds: RTP
    // flows once the first listens; keyframes lost on ports not yet bound are asked for again below.
    const firstPort = this.#inputs[0]?.port ?? 0;
    await waitForUdpPort(firstPort, {
      timeoutMs: BIND_TIMEOUT_MS,
      fallbackMs: 500,
      stopped: () => exitError ?? (this.#closed ? new Error('composer closed while starting') : null),
    });
    await Promise.all(this.#inputs.map((i) => i.consumer.resume()));
    this.resumedAt = performance.now();
    this.#requestKeyFrames();
    this.#keyframeTimer = setInterval(() => this.#requestKeyFrames(), KEYFRAME_REQUEST_MS);
  }

  #requestKeyFrames(): void {
    for (const input of this.#inputs) {
      if (input.consumer.kind === 'video' && !input.consumer.closed) {
        input.consumer.requestKeyFrame().catch(() => undefined);
      }
    }
  }

  #onData(chunk: Buffer, proc: FfmpegProcess): void {
    if (this.#closed) return;
    let tags: FlvTag[];
    try {
      tags = this.#parser.push(chunk);
    } catch (error) {
      this.#logger.error({ err: error }, 'composer output is not FLV');
      void proc.close();
      this.emit(proc.ready ? 'died' : 'failed', new Error('The composer produced an unreadable stream.'));
      return;
    }
    for (const tag of tags) {
      if (!this.#sawVideo && tag.type === TAG_VIDEO) {
        this.#sawVideo = true;
        this.firstVideoAt = performance.now();
        proc.markReady();
        if (this.#keyframeTimer) clearInterval(this.#keyframeTimer);
        this.#keyframeTimer = null;
      }
      if (this.#closed) return;
      this.emit('tag', tag);
    }
  }
}
