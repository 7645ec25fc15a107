import type { Resolution } from '@onair/shared';
import { encoderArgs, OUTPUT_FPS } from '../compositor/profile.js';
import { FRAME_SIZES } from '../compositor/layout.js';
import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import type { DescribedFailure } from './errors.js';
import { StreamInspector, type StreamMeasurements } from './preflight.js';
import { RtmpPublisher } from './rtmp/RtmpPublisher.js';

/** Seconds of test stream: three keyframes (0, 2, 4 s), so the keyframe interval is measured twice. */
export const TEST_SECONDS = 6;

export interface TestPushOptions {
  ffmpegPath: string;
  publishUrl: string;
  allowUntrustedCertificate: boolean;
  logger: Logger;
  /** The resolution the broadcast would use. Default '720p'. */
  resolution?: Resolution;
  /** Seconds of test stream. Default TEST_SECONDS (6). */
  seconds?: number;
  /** The whole test gives up after this. Default 25 000 ms. */
  timeoutMs?: number;
  /** CA certificates (PEM) trusted on top of the system store (tests). Default none. */
  extraCa?: string[];
}

export interface TestPushResult {
  /** Null when the server accepted the stream, took its media and was sent all of it; else why not, in plain words. */
  failure: DescribedFailure | null;
  /** What was sent to the server, measured from the tags as the publisher wrote them. */
  measurements: StreamMeasurements;
  /** host[:port] of the server, for messages. */
  host: string;
}

/**
 * ffmpeg arguments of the test stream: colour bars and a tone in real time, encoded with the
 * broadcast's own encoder settings (encoderArgs: H.264 High, 2 s keyframes, the resolution's
 * bitrate, AAC-LC 48 kHz stereo), as FLV on stdout (no URL, no key).
 */
export function testPatternArgs(seconds: number, resolution: Resolution = '720p'): string[] {
  const { width, height } = FRAME_SIZES[resolution];
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${OUTPUT_FPS}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    ...encoderArgs(resolution),
    '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1',
  ];
}

/**
 * A short real publish of a test stream through the same RtmpPublisher as a broadcast, with the
 * broadcast's encoder profile. Resolves with what was sent (for the preflight rules) and null as
 * the failure when the server accepted the stream and took it to the end.
 */
export function testPush(options: TestPushOptions): Promise<TestPushResult> {
  const seconds = options.seconds ?? TEST_SECONDS;
  const timeoutMs = options.timeoutMs ?? 25_000;
  const inspector = new StreamInspector();
  const publisher = RtmpPublisher.start({
    publishUrl: options.publishUrl,
    allowUntrustedCertificate: options.allowUntrustedCertificate,
    ...(options.extraCa ? { extraCa: options.extraCa } : {}),
    onTagSent: (tag) => inspector.add(tag),
    logger: options.logger,
  });
  const host = publisher.host;
  const ffmpeg = FfmpegProcess.spawn({
    ffmpegPath: options.ffmpegPath,
    args: testPatternArgs(seconds, options.resolution ?? '720p'),
    logger: options.logger,
    stdout: true,
  });
  return new Promise((resolve) => {
    let settled = false;
    let patternDone = false;
    const finish = (failure: DescribedFailure | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A graceful stop sends the last bytes before closing, so they are measured too.
      void Promise.all([ffmpeg.close(), publisher.stop(failure === null)]).then(() => resolve({ failure, measurements: inspector.measurements(), host }));
    };
    const succeedIfDone = (): void => {
      if (!patternDone || !publisher.live) return;
      finish(publisher.mediaTaken ? null : { kind: 'transient', message: `${host} accepted the stream but did not take its media.` });
    };
    const timer = setTimeout(
      () => finish({ kind: 'transient', message: `The server did not answer within ${Math.round(timeoutMs / 1000)} seconds.` }),
      timeoutMs,
    );
    publisher.on('failed', (failure) => finish(failure));
    publisher.on('live', succeedIfDone);
    ffmpeg.stdout?.on('data', (chunk: Buffer) => {
      ffmpeg.markReady();
      publisher.write(chunk);
    });
    ffmpeg.stdout?.once('end', () => {
      patternDone = true;
      // The last progress report may be up to a second old: give the socket a moment to take the tail.
      setTimeout(succeedIfDone, 200);
    });
    ffmpeg.on('failed', (error) => {
      options.logger.error({ err: error }, 'the test stream could not be made');
      finish({ kind: 'transient', message: 'The test picture could not be made on this server (ffmpeg failed); the server log says why.' });
    });
  });
}
