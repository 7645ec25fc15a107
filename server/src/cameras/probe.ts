import type { Logger } from '../logger.js';
import { FfmpegProcess } from '../media/FfmpegProcess.js';
import { classifyCameraFailure, type CameraFailure } from './failures.js';
import { CAMERA_IO_TIMEOUT_US, type CameraAddress } from './url.js';

/** What a camera sends, read from ffmpeg's description of its streams. */
export interface CameraStreams {
  /** e.g. 'h264', 'hevc', 'mjpeg'; null: no video. */
  videoCodec: string | null;
  /** e.g. 'Constrained Baseline', 'High'; null when ffmpeg names none. */
  videoProfile: string | null;
  /** e.g. 'aac', 'pcm_alaw'; null: no audio. */
  audioCodec: string | null;
}

export type ProbeResult = { ok: true; streams: CameraStreams } | { ok: false; failure: CameraFailure };

/** Longest a probe may take (connect, DESCRIBE, SETUP, PLAY, first frames). Default 10 s. */
export const PROBE_TIMEOUT_MS = 10_000;

/** Reads `Stream #0:0: Video: h264 (Constrained Baseline), …` and `Stream #0:1: Audio: aac (LC), …` lines. */
export function parseStreams(stderr: readonly string[]): CameraStreams | null {
  let videoCodec: string | null = null;
  let videoProfile: string | null = null;
  let audioCodec: string | null = null;
  let any = false;
  for (const line of stderr) {
    const match = /Stream #\d+:\d+[^:]*: (Video|Audio): ([a-z0-9_]+)(?: \(([^)]*)\))?/i.exec(line);
    if (!match) continue;
    any = true;
    if (match[1] === 'Video' && videoCodec === null) {
      videoCodec = match[2]!.toLowerCase();
      videoProfile = match[3] ?? null;
    }
    if (match[1] === 'Audio' && audioCodec === null) audioCodec = match[2]!.toLowerCase();
  }
  return any ? { videoCodec, videoProfile, audioCodec } : null;
}

/**
 * Opens the camera once with ffmpeg (no output: it describes the streams it found, then exits) to
 * learn what it sends and, when it cannot be read, why. The input comes from cameraInput(), so the
 * URL and its credentials reach ffmpeg on stdin only.
 */
export async function probeCamera(options: {
  ffmpegPath: string;
  input: { args: string[]; stdin: string };
  address: CameraAddress;
  logger: Logger;
  timeoutMs?: number;
  /** Aborting stops the probe at once (the camera was removed, its room closed). */
  signal?: AbortSignal;
}): Promise<ProbeResult> {
  const started = performance.now();
  const ffmpeg = FfmpegProcess.spawn({ ffmpegPath: options.ffmpegPath, args: ['-hide_banner', '-nostats', ...options.input.args], stdin: true, logger: options.logger });
  ffmpeg.on('failed', () => undefined);
  ffmpeg.stdin?.end(options.input.stdin);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void ffmpeg.close({ graceMs: 500 });
  }, options.timeoutMs ?? PROBE_TIMEOUT_MS);
  const abort = (): void => void ffmpeg.close({ graceMs: 500 });
  options.signal?.addEventListener('abort', abort, { once: true });
  await ffmpeg.waitForExit();
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', abort);
  const stderr = ffmpeg.stderrTail();
  await ffmpeg.close();
  const streams = parseStreams(stderr);
  if (streams) return { ok: true, streams };
  const timeout: CameraFailure = { code: 'timeout', message: `The camera at ${options.address.hostname}:${options.address.port} did not answer in time.` };
  if (timedOut) return { ok: false, failure: timeout };
  const failure = classifyCameraFailure(stderr, options.address);
  // Something that accepts the connection and never answers ends, after ffmpeg's socket timeout,
  // with the same "Invalid data" as a server that answers in another protocol.
  if (failure.code === 'not_rtsp' && performance.now() - started >= CAMERA_IO_TIMEOUT_US / 1000 - 250) return { ok: false, failure: timeout };
  return { ok: false, failure };
}
