import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import type { DescribedFailure } from './errors.js';
import { RtmpPublisher } from './rtmp/RtmpPublisher.js';

export interface TestPushOptions {
  ffmpegPath: string;
  publishUrl: string;
  allowUntrustedCertificate: boolean;
  logger: Logger;
  /** Seconds of test pattern. Default 4. */
  seconds?: number;
  /** The whole test gives up after this. Default 20 000 ms. */
  timeoutMs?: number;
  /** CA certificates (PEM) trusted on top of the system store (tests). Default none. */
  extraCa?: string[];
}

/** ffmpeg arguments of the test pattern: colour bars and a tone, real time, as FLV on stdout (no URL, no key). */
export function testPatternArgs(seconds: number): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1',
  ];
}

/**
 * A short real publish of a test pattern through the same RtmpPublisher as a broadcast: resolves
 * null when the server accepted the stream and took it to the end, else the failure in plain words.
 */
export function testPush(options: TestPushOptions): Promise<DescribedFailure | null> {
  const seconds = options.seconds ?? 4;
  const publisher = RtmpPublisher.start({
    publishUrl: options.publishUrl,
    allowUntrustedCertificate: options.allowUntrustedCertificate,
    ...(options.extraCa ? { extraCa: options.extraCa } : {}),
    logger: options.logger,
  });
  const ffmpeg = FfmpegProcess.spawn({ ffmpegPath: options.ffmpegPath, args: testPatternArgs(seconds), logger: options.logger, stdout: true });
  return new Promise((resolve) => {
    let settled = false;
    let patternDone = false;
    const finish = (failure: DescribedFailure | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void Promise.all([ffmpeg.close(), publisher.stop(failure === null)]).then(() => resolve(failure));
    };
    const timer = setTimeout(
      () => finish({ kind: 'transient', message: `The server did not answer within ${Math.round((options.timeoutMs ?? 20_000) / 1000)} seconds.` }),
      options.timeoutMs ?? 20_000,
    );
    publisher.on('failed', (failure) => finish(failure));
    publisher.on('live', () => {
      if (patternDone) finish(null);
    });
    ffmpeg.stdout?.on('data', (chunk: Buffer) => {
      ffmpeg.markReady();
      publisher.write(chunk);
    });
    ffmpeg.stdout?.once('end', () => {
      patternDone = true;
      if (publisher.live) finish(null);
    });
    ffmpeg.on('failed', (error) => {
      options.logger.error({ err: error }, 'the test pattern could not be made');
      finish({ kind: 'transient', message: 'The test picture could not be made on this server (ffmpeg failed); the server log says why.' });
    });
  });
}
