import { randomInt } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { OUTPUT_FPS } from './profile.js';
import type { Picture } from './picture.js';

export interface PreviewOptions {
  id: string;
  router: ms.Router;
  /** The program picture's size (what push() receives). */
  width: number;
  height: number;
  ffmpegPath: string;
  logger: Logger;
}

/** The preview's picture: a quarter of the program's width and height (320x180 for 720p). */
export const PREVIEW_SCALE = 4;
/** Every third program picture (10 fps): enough to check a layout, a third of the encoding. */
export const PREVIEW_EVERY = 3;
/** A keyframe each second, so a host who opens the preview sees it within a second (ffmpeg cannot answer a keyframe request). */
const PREVIEW_GOP_SECONDS = 1;
export const PREVIEW_KBPS = 250;
const VP8: ms.RtpCodecParameters = { mimeType: 'video/VP8', clockRate: 90000, payloadType: 101 };
const RTP_PACKET_SIZE = 1200;

/** The preview encoder's command line: raw program pictures in on stdin, a small VP8 over RTP out to mediasoup. */
export function previewArgs(o: { width: number; height: number; port: number; rtcpPort: number; ssrc: number }): string[] {
  const fps = OUTPUT_FPS / PREVIEW_EVERY;
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats',
    '-probesize', '32', '-analyzeduration', '0', '-fflags', 'nobuffer',
    // Stamped on arrival, unlike the program: the preview is a monitor of now with no audio to keep
    // in sync, and pictures that come in a burst (the program clock catching up after a busy moment)
    // must not look like network jitter to the browser, whose jitter buffer would then add delay.
    '-use_wallclock_as_timestamps', '1',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${o.width}x${o.height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-an', '-threads', '1', '-filter_threads', '1', '-fps_mode', 'passthrough',
    '-vf', `scale=${Math.round(o.width / PREVIEW_SCALE / 2) * 2}:${Math.round(o.height / PREVIEW_SCALE / 2) * 2}:flags=fast_bilinear`,
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0', '-error-resilient', '1',
    '-b:v', `${PREVIEW_KBPS}k`, '-g', String(fps * PREVIEW_GOP_SECONDS), '-keyint_min', String(fps * PREVIEW_GOP_SECONDS),
    '-f', 'rtp', '-payload_type', String(VP8.payloadType), '-ssrc', String(o.ssrc),
    `rtp://127.0.0.1:${o.port}?rtcpport=${o.rtcpPort}&pkt_size=${RTP_PACKET_SIZE}`,
  ];
}

/**
 * The program as the room's hosts see it: every third program picture, scaled down and encoded to a
 * small VP8 by its own ffmpeg, sent over RTP into a PlainTransport producer of the room's router,
 * which only hosts are allowed to consume. A picture that arrives while the previous one is still
 * being taken is skipped: the preview never holds the program back.
 */
export class Preview {
  readonly producer: ms.Producer;
  readonly #transport: ms.PlainTransport;
  readonly #process: FfmpegProcess;
  readonly #stdin: Writable;
  readonly #buffers: [Buffer, Buffer];
  readonly #logger: Logger;
  #next = 0;
  #writing = false;
  #count = 0;
  #closed = false;
  /** Pictures sent to the preview encoder, and skipped because it was still busy. */
  sent = 0;
  skipped = 0;

  private constructor(transport: ms.PlainTransport, producer: ms.Producer, proc: FfmpegProcess, bytes: number, logger: Logger) {
    this.#transport = transport;
    this.producer = producer;
    this.#process = proc;
    this.#logger = logger;
    const stdin = proc.stdin;
    if (!stdin) throw new Error('preview encoder has no stdin');
    this.#stdin = stdin;
    this.#buffers = [Buffer.allocUnsafe(bytes), Buffer.allocUnsafe(bytes)];
    stdin.on('error', () => undefined);
    const ended = (error: Error): void => {
      if (!this.#closed) this.#logger.warn({ err: error }, 'the preview encoder ended; the preview stops (the program goes on)');
    };
    proc.on('failed', ended);
    proc.on('died', ended);
  }

  static async create(options: PreviewOptions): Promise<Preview> {
    const logger = options.logger.child({ preview: options.id });
    const transport = await options.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    try {
      const ssrc = randomInt(1, 2 ** 31);
      const producer = await transport.produce({ kind: 'video', rtpParameters: { codecs: [VP8], encodings: [{ ssrc }] }, appData: { source: 'program' } });
      const args = previewArgs({ width: options.width, height: options.height, port: transport.tuple.localPort, rtcpPort: transport.rtcpTuple?.localPort ?? transport.tuple.localPort + 1, ssrc });
      const proc = FfmpegProcess.spawn({ ffmpegPath: options.ffmpegPath, args, logger, stdin: true });
      proc.markReady();
      return new Preview(transport, producer, proc, options.width * options.height * 1.5, logger);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** A program picture was drawn: every PREVIEW_EVERY-th one is copied and handed to the preview encoder. */
  push(picture: Picture): void {
    if (this.#closed) return;
    this.#count += 1;
    if (this.#count % PREVIEW_EVERY !== 0) return;
    if (this.#writing) {
      this.skipped += 1;
      return;
    }
    const buffer = this.#buffers[this.#next];
    if (!buffer || buffer.length !== picture.data.length) return;
    this.#next = 1 - this.#next;
    picture.data.copy(buffer);
    this.#writing = true;
    this.sent += 1;
    this.#stdin.write(buffer, () => {
      this.#writing = false;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.producer.close();
    this.#transport.close();
    this.#stdin.destroy();
    await this.#process.close({ graceMs: 500 });
  }
}
