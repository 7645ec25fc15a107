import type { Logger } from '../logger.js';
import type { DescribedFailure } from './errors.js';
import { RtmpPublisher } from './rtmp/RtmpPublisher.js';

export interface PusherProgress {
  /** Bytes sent to the server. */
  totalSize: number;
  /** Video frames sent. */
  frames: number;
  /** The server has taken media (not only accepted the stream): the destination is live from then on. */
  mediaTaken: boolean;
  /** Measured over the last seconds of what was sent, by the frames' timestamps; never more than the stream's own rate. */
  fps: number;
  bitrateKbps: number;
}

export interface PusherHandlers {
  /** About once a second once the server has accepted the stream. */
  onProgress(progress: PusherProgress): void;
  /**
   * The pusher ended by itself: a failure already in plain words, or error text (an ffmpeg-style
   * log line) that Destination classifies with classifyFfmpegFailure.
   */
  onExit(reason: DescribedFailure | string): void;
}

export interface PushOptions {
  /** Publish even if an rtmps:// server's certificate fails verification. */
  allowUntrustedCertificate: boolean;
}

/** Copies FLV from write() to one RTMP(S) URL. */
export interface Pusher {
  write(chunk: Buffer): void;
  /** Bytes written but not yet sent. */
  readonly backlogBytes: number;
  /** graceful: close the stream cleanly (unpublish) after what was written; otherwise drop the connection. */
  stop(graceful: boolean): Promise<void>;
}

export type PusherFactory = (publishUrl: string, handlers: PusherHandlers, options: PushOptions) => Pusher;

export interface RtmpPusherFactoryOptions {
  logger: Logger;
  /** CA certificates (PEM) trusted on top of the system store (tests). Default none. */
  extraCa?: string[];
}

/** Pushers that publish from this process with RtmpPublisher (no child process, so no key in any process's arguments). */
export function rtmpPusherFactory(factoryOptions: RtmpPusherFactoryOptions): PusherFactory {
  return (publishUrl, handlers, options) => {
    const publisher = RtmpPublisher.start({
      publishUrl,
      allowUntrustedCertificate: options.allowUntrustedCertificate,
      ...(factoryOptions.extraCa ? { extraCa: factoryOptions.extraCa } : {}),
      logger: factoryOptions.logger,
    });
    publisher.on('progress', (p) => handlers.onProgress(p));
    publisher.on('failed', (failure) => handlers.onExit(failure));
    return publisher;
  };
}
