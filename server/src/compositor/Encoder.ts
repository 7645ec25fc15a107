import type { Writable } from 'node:stream';
import type { Resolution } from '@onair/shared';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { encoderArgs, OUTPUT_FPS } from './profile.js';
import { FlvParser, TAG_VIDEO, type FlvTag } from '../flv/flv.js';
import { CHANNELS, SAMPLE_RATE } from './AudioMixer.js';

export type EncoderEvents = {
  tag: [FlvTag];
  /** ffmpeg ended before its first video tag. */
  failed: [Error];
  /** ffmpeg ended after producing output. */
  died: [Error];
};

export interface EncoderOptions {
  id: string;
  width: number;
  height: number;
  resolution: Resolution;
  ffmpegPath: string;
  logger: Logger;
  /** Encoder settings; default the ingest profile of encoderArgs() (H.264 High, 2 s GOP, CBR, AAC-LC). */
  codecArgs?: string[];
}

/**
 * The program's one encoder: reads raw yuv420p pictures on stdin and s16le PCM on fd 3, one
 * picture and one frame's worth of audio per tick, so its timestamps are the frame count and the
 * sample count (no wall-clock stamping, no drift between them), and writes FLV to stdout.
 */
export class Encoder extends TypedEmitter<EncoderEvents> {
  readonly id: string;
  readonly #process: FfmpegProcess;
  readonly #parser = new FlvParser();
  readonly #video: Writable;
  readonly #audio: Writable;
  #sawVideo = false;
  #closed = false;
  readonly startedAt = performance.now();
  firstVideoAt: number | null = null;

  private constructor(id: string, proc: FfmpegProcess, logger: Logger) {
    super(logger);
    this.id = id;
    this.#process = proc;
    const video = proc.stdin;
    const audio = proc.inputPipe(0);
    if (!video || !audio) throw new Error('encoder pipes missing');
    this.#video = video;
    this.#audio = audio;
    proc.on('failed', (error) => {
      if (!this.#closed) this.emit('failed', error);
    });
    proc.on('died', (error) => {
      if (!this.#closed) this.emit('died', error);
    });
    proc.stdout?.on('data', (chunk: Buffer) => this.#onData(chunk, logger));
  }

  static start(options: EncoderOptions): Encoder {
    const logger = options.logger.child({ encoder: options.id });
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats',
      // Both inputs are fully described: probing them only delays the first frame.
      '-probesize', '32', '-analyzeduration', '0',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${options.width}x${options.height}`, '-framerate', String(OUTPUT_FPS),
      '-thread_queue_size', '64', '-i', 'pipe:0',
      '-probesize', '32', '-analyzeduration', '0',
      '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', String(CHANNELS), '-thread_queue_size', '256', '-i', 'pipe:3',
      '-map', '0:v', '-map', '1:a',
      ...(options.codecArgs ?? encoderArgs(options.resolution)),
      '-f', 'flv', '-flvflags', 'no_duration_filesize+no_sequence_end', '-flush_packets', '1', 'pipe:1',
    ];
    logger.debug({ args }, 'starting encoder');
    const proc = FfmpegProcess.spawn({ ffmpegPath: options.ffmpegPath, args, logger, stdin: true, stdout: true, inputPipes: 1 });
    return new Encoder(options.id, proc, logger);
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued for the encoder and not yet taken by it (video pipe). */
  get videoBacklog(): number {
    return this.#video.writableLength;
  }

  /** Queues one picture; `done` runs when the encoder has taken it (the buffer may then be reused). */
  writeVideo(picture: Buffer, done: () => void): void {
    if (this.#closed || this.#video.destroyed) {
      done();
      return;
    }
    this.#video.write(picture, done);
  }

  writeAudio(pcm: Buffer, done: () => void): void {
    if (this.#closed || this.#audio.destroyed) {
      done();
      return;
    }
    this.#audio.write(pcm, done);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    this.#audio.destroy();
    await this.#process.close({ graceMs: 1000 });
  }

  #onData(chunk: Buffer, logger: Logger): void {
    if (this.#closed) return;
    let tags: FlvTag[];
    try {
      tags = this.#parser.push(chunk);
    } catch (error) {
      logger.error({ err: error }, 'encoder output is not FLV');
      void this.#process.close();
      this.emit(this.#sawVideo ? 'died' : 'failed', new Error('The encoder produced an unreadable stream.'));
      return;
    }
    for (const tag of tags) {
      if (!this.#sawVideo && tag.type === TAG_VIDEO) {
        this.#sawVideo = true;
        this.firstVideoAt = performance.now();
        this.#process.markReady();
      }
      if (this.#closed) return;
      this.emit('tag', tag);
    }
  }
}
