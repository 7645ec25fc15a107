import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { backoffDelay, type BackoffPolicy } from '../media/backoff.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import type { FlvSink } from '../flv/FlvRelay.js';
import { HLS_PLAYLIST } from '../eventpage/hls.js';


/**
 * Target segment length (s). The program's keyframes are 2 s apart and ffmpeg cuts only on a
 * keyframe, so every segment is 2 s long: asking for 1 s makes each keyframe a cut.
 */
const SEGMENT_SECONDS = 1;
/** Segments a live (not recorded) playlist lists; older ones are deleted. */
const LIVE_LIST_SIZE = 6;
/** FLV waiting for ffmpeg beyond this is dropped (the remux is far faster than real time). */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
const RESTART: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 8000, jitter: 0.2 };

export interface HlsOutputOptions {
  /** The directory the playlist and segments go to (created; removed on close unless `keep`). */
  dir: string;
  /** Keep every segment and the files after the broadcast (recording is on). Default false. */
  keep?: boolean;
  ffmpegPath: string;
  logger: Logger;
  /** Re-attaches this sink to the relay, which then starts it with a header and the cached GOP. */
  reattach: () => void;
}

export function hlsArgs(dir: string, keep: boolean, continuing: boolean): string[] {
  const flags = ['independent_segments', 'temp_file', ...(keep ? [] : ['delete_segments']), ...(continuing ? ['append_list', 'discont_start'] : [])];
  return [
    '-hide_banner', '-loglevel', 'warning', '-nostats',
    '-f', 'flv', '-i', 'pipe:0',
    '-map', '0', '-c', 'copy',
    '-f', 'hls',
    '-hls_time', String(SEGMENT_SECONDS),
    '-hls_list_size', keep ? '0' : String(LIVE_LIST_SIZE),
    ...(keep ? ['-hls_playlist_type', 'event'] : []),
    '-hls_flags', flags.join('+'),
    '-hls_segment_filename', join(dir, 'seg-%05d.ts'),
    join(dir, HLS_PLAYLIST),
  ];
}

/**
 * The event page's HLS: a sink of the relay like the recording and the destinations (the same
 * encode), remuxed by ffmpeg (`-c copy -f hls`) into short segments in its own directory. An
 * ffmpeg that dies is started again (with backoff) and continues the same playlist.
 */
export class HlsOutput implements FlvSink {
  readonly id = 'event-page';
  readonly dir: string;
  readonly #options: HlsOutputOptions;
  readonly #keep: boolean;
  #process: FfmpegProcess | null = null;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #dropped = 0;
  #failed = false;
  #closed = false;

  constructor(options: HlsOutputOptions) {
    this.#options = options;
    this.dir = options.dir;
    this.#keep = options.keep ?? false;
    // The event page failing stays local: the broadcast and its destinations go on without it.
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (error) {
      this.#failed = true;
      options.logger.error({ err: error, dir: this.dir }, 'the event page cannot write its segments; it stays off for this broadcast');
      return;
    }
    this.#spawn();
  }

  /** It could not start (its directory cannot be written): it takes nothing and writes nothing. */
  get failed(): boolean {
    return this.#failed;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get droppedBytes(): number {
    return this.#dropped;
  }

  get keep(): boolean {
    return this.#keep;
  }

  write(chunk: Buffer): void {
    const stdin = this.#process?.stdin;
    if (this.#closed || this.#failed || !stdin || stdin.destroyed) return;
    if (stdin.writableLength > MAX_BACKLOG_BYTES) {
      this.#dropped += chunk.length;
      return;
    }
    stdin.write(chunk);
  }

  /** Ends the stream (ffmpeg finishes the playlist), then removes the directory unless it is kept. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const process = this.#process;
    this.#process = null;
    await process?.close({ endStdin: true, graceMs: 3000 });
    if (!this.#keep && !this.#failed) rmSync(this.dir, { recursive: true, force: true });
  }

  #spawn(): void {
    const process = FfmpegProcess.spawn({
      ffmpegPath: this.#options.ffmpegPath,
      args: hlsArgs(this.dir, this.#keep, this.#restarts > 0),
      logger: this.#options.logger,
      stdin: true,
    });
    process.markReady();
    const onExit = (error: Error): void => {
      if (this.#closed || this.#process !== process) return;
      this.#process = null;
      const delay = backoffDelay(this.#restarts, RESTART);
      this.#options.logger.warn({ err: error, delayMs: delay }, 'the event page remux stopped; starting it again');
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (this.#closed) return;
        this.#restarts += 1;
        this.#spawn();
        this.#options.reattach();
      }, delay);
      this.#restartTimer.unref();
    };
    process.on('died', onExit);
    process.on('failed', onExit);
    this.#process = process;
  }
}
