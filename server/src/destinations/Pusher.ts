import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';

export interface PusherProgress {
  /** Bytes ffmpeg has written to the server. */
  totalSize: number;
  /** Video frames sent. */
  frames: number;
}

export interface PusherHandlers {
  onProgress(progress: PusherProgress): void;
  /** The process ended by itself; `stderr` is its last lines, redacted. */
  onExit(stderr: string): void;
}

/** A process that copies FLV from write() to one RTMP(S) URL. */
export interface Pusher {
  write(chunk: Buffer): void;
  /** Bytes written but not yet taken by the process. */
  readonly backlogBytes: number;
  /** graceful: end its input so it closes the stream cleanly; otherwise kill it. */
  stop(graceful: boolean): Promise<void>;
}

export type PusherFactory = (publishUrl: string, handlers: PusherHandlers) => Pusher;

/** ffmpeg arguments of a pusher: FLV on stdin, copied as is to the URL, progress on fd 3. */
export function pusherArgs(publishUrl: string): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats',
    '-progress', 'pipe:3', '-stats_period', '1',
    '-f', 'flv', '-analyzeduration', '300000', '-probesize', '262144', '-i', 'pipe:0',
    '-map', '0', '-c', 'copy',
    '-f', 'flv', '-flvflags', 'no_duration_filesize',
    publishUrl,
  ];
}

/** Pushers backed by real ffmpeg processes. */
export function ffmpegPusherFactory(ffmpegPath: string, logger: Logger): PusherFactory {
  return (publishUrl, handlers) => {
    const proc = FfmpegProcess.spawn({ ffmpegPath, args: pusherArgs(publishUrl), logger, stdin: true, progress: true });
    const onEnd = (): void => handlers.onExit(proc.stderrTail().join('\n'));
    proc.on('failed', onEnd);
    proc.on('died', onEnd);
    proc.on('progress', (p) => {
      const totalSize = Number(p.total_size ?? 0);
      const frames = Number(p.frame ?? 0);
      if (totalSize > 0) proc.markReady();
      handlers.onProgress({ totalSize: Number.isFinite(totalSize) ? totalSize : 0, frames: Number.isFinite(frames) ? frames : 0 });
    });
    return {
      write(chunk) {
        const stdin = proc.stdin;
        if (stdin && !stdin.destroyed && stdin.writable) stdin.write(chunk);
      },
      get backlogBytes() {
        return proc.stdin?.writableLength ?? 0;
      },
      stop(graceful) {
        return proc.close({ endStdin: graceful, graceMs: 3000 });
      },
    };
  };
}
