import type { CameraStatus } from '@onair/shared';
import { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelay, type BackoffPolicy } from '../media/backoff.js';
import type { Clock, Timer } from '../media/clock.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import type { CameraRecord } from '../persistence/cameras.js';
import { classifyCameraFailure, type CameraFailure } from './failures.js';
import { probeCamera, type CameraStreams } from './probe.js';
import { cameraInput, parseCameraUrl, type CameraAddress, type CameraCredentials } from './url.js';

/** What ffmpeg's feed needs (the ingest core's IngestInput). */
export interface CameraFeedInput {
  args: string[];
  stdin?: Readable;
  video: 'passthrough' | 'transcode' | null;
  audio: boolean;
}

/** The camera as a participant of its room (the ingest core's OutsideParticipant). */
export interface CameraParticipant {
  feed(input: CameraFeedInput): Promise<void>;
  /** Shows "reconnecting" with these words on the camera's tile. */
  interrupt(reason?: string): Promise<void>;
  on(event: 'state', listener: (state: 'connecting' | 'live' | 'reconnecting') => void): unknown;
  on(event: 'feedended', listener: (error: Error) => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  close(): Promise<void>;
  readonly ffmpegPid?: number | undefined;
}

export type CameraPullerEvents = {
  /** The status changed (state, error, next attempt). */
  status: [CameraStatus];
};

/** Retry after a failed attempt: 1 s, 2 s, 4 s … up to 30 s, ±20 %. */
export const CAMERA_BACKOFF: BackoffPolicy = { baseDelayMs: 1000, maxDelayMs: 30_000, jitter: 0.2 };

/** A camera that has been away this long leaves the room's participants (it joins again when it is back). Default 30 s. */
export const CAMERA_LEAVE_AFTER_MS = 30_000;

export interface CameraPullerOptions {
  camera: CameraRecord;
  /** Reads the camera's credentials when an attempt starts (they may be unreadable: a changed master secret). */
  credentials: () => CameraCredentials | null;
  /** Puts the camera into its room as a participant. */
  join: () => CameraParticipant;
  ffmpegPath: string;
  logger: Logger;
  /** Wall-clock (systemClock): the times shown are dates. */
  clock: Clock;
  backoff?: BackoffPolicy;
  leaveAfterMs?: number;
}

/**
 * H.264 in a profile every WebRTC browser decodes goes through as it is; anything else ffmpeg
 * reads (H.264 Main/High, H.265, MJPEG…) is transcoded.
 */
export function videoHandling(streams: CameraStreams): 'passthrough' | 'transcode' | null {
  if (streams.videoCodec === null) return null;
  if (streams.videoCodec === 'h264' && /^(constrained )?baseline$/i.test(streams.videoProfile ?? '')) return 'passthrough';
  return 'transcode';
}

/**
 * Pulls one camera into its open room, for as long as the room is open: probe (what it sends, or
 * why it cannot be read) → join as a participant → feed → live; when the camera goes away, retry
 * with the server's backoff, keeping the participant ("reconnecting") for leaveAfterMs. Status in
 * plain words for the dashboard. close() stops the attempt, the feed and the participant.
 */
export class CameraPuller extends TypedEmitter<CameraPullerEvents> {
  readonly camera: CameraRecord;
  readonly #options: CameraPullerOptions;
  readonly #address: CameraAddress;
  readonly #logger: Logger;
  #status: CameraStatus = { state: 'connecting', lastError: null, nextAttemptAt: null, liveSince: null, retries: 0, video: null };
  #participant: CameraParticipant | null = null;
  #retryTimer: Timer | null = null;
  #leaveTimer: Timer | null = null;
  /** Counts attempts, so a superseded one does nothing when it finishes. */
  #attempt = 0;
  /** Stops the running probe when the puller closes. */
  readonly #abort = new AbortController();
  #closed = false;

  constructor(options: CameraPullerOptions) {
    const logger = options.logger.child({ camera: options.camera.id });
    super(logger);
    this.#logger = logger;
    this.#options = options;
    this.camera = options.camera;
    this.#address = parseCameraUrl(options.camera.url).address;
    this.#start();
  }

  #start(): void {
    this.#connect().catch((error: unknown) => this.#fail({ code: 'other', message: `The camera could not be read (${error instanceof Error ? error.message : String(error)}).` }));
  }

  status(): CameraStatus {
    return { ...this.#status };
  }

  /** The feed's ffmpeg pid while one runs (the tests scan its /proc entries). */
  get ffmpegPid(): number | undefined {
    return this.#participant?.ffmpegPid;
  }

  #set(patch: Partial<CameraStatus>): void {
    if (this.#closed) return;
    this.#status = { ...this.#status, ...patch };
    this.emit('status', this.status());
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const attempt = ++this.#attempt;
    this.#retryTimer = null;
    this.#set({ state: 'connecting', nextAttemptAt: null });
    let credentials: CameraCredentials | null;
    try {
      credentials = this.#options.credentials();
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      this.#fail({ code: 'credentials_unreadable', message: error.message });
      return;
    }
    const input = cameraInput(this.camera.url, credentials, this.camera.transport);
    const probe = await probeCamera({ ffmpegPath: this.#options.ffmpegPath, input, address: this.#address, logger: this.#logger, signal: this.#abort.signal });
    if (this.#closed || attempt !== this.#attempt) return;
    if (!probe.ok) {
      this.#fail(probe.failure);
      return;
    }
    const video = videoHandling(probe.streams);
    const audio = probe.streams.audioCodec !== null;
    if (video === null && !audio) {
      this.#fail({ code: 'no_video', message: 'The camera sends neither video nor audio on this stream.' });
      return;
    }
    const participant = this.#ensureParticipant();
    try {
      await participant.feed({ args: input.args, stdin: Readable.from([input.stdin]), video, audio });
    } catch (error) {
      if (this.#closed || attempt !== this.#attempt) return;
      this.#fail({ code: 'other', message: `The camera's media could not be set up (${error instanceof Error ? error.message : String(error)}).` });
      return;
    }
    if (!this.#closed && attempt === this.#attempt) this.#set({ video });
  }

  #ensureParticipant(): CameraParticipant {
    this.#leaveTimer?.cancel();
    this.#leaveTimer = null;
    if (this.#participant) return this.#participant;
    const participant = this.#options.join();
    this.#participant = participant;
    participant.on('state', (state) => {
      if (this.#participant !== participant || state !== 'live') return;
      this.#set({ state: 'live', lastError: null, retries: 0, nextAttemptAt: null, liveSince: new Date(this.#options.clock.now()).toISOString() });
    });
    participant.on('feedended', (error) => {
      if (this.#participant !== participant) return;
      const wasLive = this.#status.state === 'live';
      this.#fail(classifyCameraFailure(error.message.split(' | '), this.#address, wasLive));
    });
    participant.on('closed', () => {
      if (this.#participant === participant) this.#participant = null;
    });
    return participant;
  }

  #fail(failure: CameraFailure): void {
    if (this.#closed) return;
    this.#logger.info({ failure: failure.code }, `camera "${this.camera.name}": ${failure.message}`);
    const retries = this.#status.retries + 1;
    const delay = backoffDelay(retries - 1, this.#options.backoff ?? CAMERA_BACKOFF);
    const participant = this.#participant;
    if (participant) {
      // The tile says why, in the same words as the dashboard.
      void participant.interrupt(failure.message).catch(() => undefined);
      if (!this.#leaveTimer) {
        this.#leaveTimer = this.#options.clock.setTimeout(() => {
          this.#leaveTimer = null;
          if (this.#participant !== participant) return;
          this.#participant = null;
          void participant.close();
        }, this.#options.leaveAfterMs ?? CAMERA_LEAVE_AFTER_MS);
      }
    }
    this.#set({ state: 'retrying', lastError: failure.message, retries, nextAttemptAt: new Date(this.#options.clock.now() + delay).toISOString(), video: null });
    this.#retryTimer = this.#options.clock.setTimeout(() => this.#start(), delay);
  }

  /** Stops trying, stops the feed and takes the camera out of the room. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#attempt++;
    this.#abort.abort();
    this.#retryTimer?.cancel();
    this.#leaveTimer?.cancel();
    this.removeAllListeners();
    const participant = this.#participant;
    this.#participant = null;
    await participant?.close();
  }
}
