import type { types as ms } from 'mediasoup';
import { DEFAULT_IDLE_TIMEOUT_MINUTES, type BroadcastLayout, type BroadcastState, type BroadcastStatus, type LogoCorner, type ProgramKind, type ProgramSourceStatus, type Resolution, type VerticalLayout } from '@onair/shared';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { Destination, type RetryPolicy } from '../destinations/Destination.js';
import type { PublishTarget } from '../destinations/PublishTarget.js';
import type { Clock } from '../media/clock.js';
import { rtmpPusherFactory, type PusherFactory } from '../destinations/Pusher.js';
import { Program, type ProgramStats } from '../compositor/Program.js';
import type { ProgramOutput } from '../compositor/ProgramOutput.js';
import { Preview } from '../compositor/Preview.js';
import { FRAME_SIZES } from '../compositor/layout.js';
import { decodeLogo } from '../compositor/logo.js';
import { logoBox, type Scene, type SceneInput, type SceneLogo, type SceneMedia, type SceneParticipant } from '../compositor/scene.js';
import { newContentKey } from '../compositor/Stills.js';
import { TAG_VIDEO } from '../flv/flv.js';
import { FlvRelay, type FlvRelayStats, type SwitchInfo } from '../flv/FlvRelay.js';
import { HlsOutput } from './HlsOutput.js';
import { Recording } from './Recording.js';


export interface BroadcastParticipant {
  peerId: string;
  displayName: string;
  /** producer.paused tells camera off / muted. */
  producers: Array<{ producer: ms.Producer; source: 'mic' | 'camera' | 'screen' }>;
  /** Only their screen share is on air (they are backstage): no camera tile. Default false. */
  screenOnly?: boolean;
}

export interface BroadcastOptions {
  id: string;
  roomId: string;
  router: ms.Router;
  getParticipants: () => BroadcastParticipant[];
  /** The speaker the speaker-led layouts feature, already held by the room (StageSpeaker); null for none. */
  getActiveSpeakerId: () => string | null;
  destinations: PublishTarget[];
  /** Default 'auto'. */
  layout?: BroadcastLayout;
  /** Default '720p'. */
  resolution?: Resolution;
  /** The vertical program, encoded while a destination takes it or it is recorded: layout (default 'auto') and size ('720p' 720x1280, default). */
  verticalLayout?: VerticalLayout;
  verticalResolution?: Resolution;
  title?: string | null;
  lowerThird?: string | null;
  /** Shown until someone is on stage. Default 'Starting soon'. */
  slateText?: string;
  /** Shown when everyone has left the stage after the show began (destinations stay live). Default "We'll be right back". */
  breakText?: string;
  /** Corner of the logo (set with setLogo). Default 'top-right'. */
  logoCorner?: LogoCorner;
  /** Nobody on stage this long after the show began ends the broadcast ('idle'). Default 10. */
  idleTimeoutMinutes?: number;
  /** Tests: the length of a minute for the idle timeout (ms). Default 60,000. */
  minuteMs?: number;
  /** Also write the stream to this .flv file; default null (no recording). */
  recordPath?: string | null;
  /** Also write the vertical program to this .flv file (it is then encoded for the whole broadcast); default null. */
  verticalRecordPath?: string | null;
  /** Also remux the stream to HLS for the event page into `dir` (kept after the broadcast when `keep`); default null (off). */
  eventPage?: { dir: string; keep: boolean } | null;
  ffmpegPath: string;
  logger: Logger;
  /** Compose and preview without any destination until goLive() (the 'preview' state). Default false. */
  preview?: boolean;
  /** Tests: replace the real pushers / the retry timing of destinations. */
  createPusher?: PusherFactory;
  destinationRetry?: Partial<RetryPolicy>;
  destinationClock?: Clock;
}

export type BroadcastEvents = {
  /** On every state change and about every 2 s while live. */
  status: [BroadcastStatus];
  /** Nobody has been on stage for the idle timeout: the owner ends the broadcast. */
  idle: [];
  closed: [];
};

export interface BroadcastStats {
  /** Encoder switches done by the relay: the first start, then one per encoder crash (never for a change in the room). */
  switches: number;
  /** Wall-clock gap between the old and the new encoder's output at the last switch. */
  lastSwitchGapMs: number | null;
  lastSwitchTimestampGapMs: number | null;
  /** Encoder starts (the first, then crashes only). */
  composerStarts: number;
  composerCrashes: number;
  /** create() → first tag forwarded by the relay. */
  firstOutputMs: number | null;
  /** Encoder start → its first video tag out. */
  composerStartupMs: number | null;
  /** The encoder's pid. */
  activeComposerPid: number | null;
  relay: FlvRelayStats;
  program: ProgramStats;
}

const STATUS_INTERVAL_MS = 2000;
/** The program that shows no keyframe in this time at Go live is given up on. */
const FIRST_OUTPUT_TIMEOUT_MS = 15_000;
/** The preview's encoder stops this long after its last watcher left. */
const PREVIEW_IDLE_MS = 10_000;
/** The encoder producing nothing this long is treated as crashed. */
const ENCODER_STALL_MS = 6000;

/**
 * A live broadcast of one room: one Program (decoders per on-stage producer, the scene drawn on
 * the program clock, one encoder that lives from Go live to Stop) whose FLV the relay forwards to
 * every destination and the recording. A change in the room changes the next output frame; only an
 * encoder crash starts another encoder, and the relay then splices it in without dropping anyone.
 */
export class Broadcast extends TypedEmitter<BroadcastEvents> {
  readonly id: string;
  readonly roomId: string;
  readonly #options: BroadcastOptions;
  readonly #logger: Logger;
  readonly #relay = new FlvRelay();
  /** The vertical program's FLV, to the destinations that take it. */
  readonly #verticalRelay = new FlvRelay();
  readonly #destinations = new Map<string, Destination>();
  readonly #createPusher: PusherFactory;
  #recording: Recording | null;
  /** The vertical program's recording: while there is one, the vertical program is encoded. */
  #verticalRecording: Recording | null;
  /** The small copy of the program the room's hosts watch, running while one watches (null otherwise). */
  #preview: Preview | null = null;
  #previewStart: Promise<Preview | null> | null = null;
  #previewWatchers = 0;
  #previewIdle: NodeJS.Timeout | null = null;
  #hls: HlsOutput | null = null;
  #startedAt = new Date();
  readonly #createdAt = performance.now();
  readonly #resolution: Resolution;
  readonly #verticalResolution: Resolution;
  #verticalLayout: VerticalLayout;
  #slateText: string;
  #breakText: string;
  #logo: SceneLogo | null = null;
  #logoCorner: LogoCorner;
  #logoSeq = 0;
  #idleTimeoutMinutes: number;
  #idleSince: Date | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #everOnStage = false;
  #state: BroadcastState = 'starting';
  #layout: BroadcastLayout;
  #title: string | null;
  #lowerThird: string | null;
  #program: Program | null = null;
  #crashes = 0;
  #composerError: string | null = null;
  #firstOutputMs: number | null = null;
  #refreshQueued = false;
  #statusTimer: NodeJS.Timeout | null = null;
  #videoTags = 0;
  #fpsSample = { at: performance.now(), tags: 0, fps: 0 };
  #closed = false;

  private constructor(options: BroadcastOptions) {
    super(options.logger);
    this.id = options.id;
    this.roomId = options.roomId;
    this.#options = options;
    this.#logger = options.logger;
    this.#layout = options.layout ?? 'auto';
    this.#resolution = options.resolution ?? '720p';
    this.#verticalResolution = options.verticalResolution ?? '720p';
    this.#verticalLayout = options.verticalLayout ?? 'auto';
    this.#title = options.title ?? null;
    this.#lowerThird = options.lowerThird ?? null;
    this.#slateText = options.slateText ?? 'Starting soon';
    this.#breakText = options.breakText ?? "We'll be right back";
    this.#logoCorner = options.logoCorner ?? 'top-right';
    this.#idleTimeoutMinutes = options.idleTimeoutMinutes ?? DEFAULT_IDLE_TIMEOUT_MINUTES;
    this.#createPusher = options.createPusher ?? rtmpPusherFactory({ logger: options.logger });
    this.#recording = options.recordPath && !options.preview ? new Recording(options.recordPath, options.logger) : null;
    this.#verticalRecording = options.verticalRecordPath && !options.preview ? new Recording(options.verticalRecordPath, options.logger) : null;
    this.#relay.on('switched', (info) => this.#onSwitched(info));
  }

  /** Validates the destinations, starts the program and waits for its first keyframe, then starts the destinations and the recording. */
  static async create(options: BroadcastOptions): Promise<Broadcast> {
    const broadcast = new Broadcast(options);
    try {
      await broadcast.#startProgram();
    } catch (error) {
      await broadcast.close();
      throw error;
    }
    if (!options.preview) broadcast.#startSinks(options);
    broadcast.#statusTimer = setInterval(() => broadcast.#tick(), STATUS_INTERVAL_MS);
    broadcast.#emitStatus();
    return broadcast;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get state(): BroadcastState {
    return this.#state;
  }

  /** What the 16:9 program draws now (its tiles, bands, slate); null once stopped. */
  get scene(): Scene | null {
    return this.#program?.scene ?? null;
  }

  /**
   * A host starts watching the preview: its producer in the room's router (only hosts may consume
   * it), its encoder started on the first watcher; null when there is no program (or its encoder
   * could not start). Each call is matched by one unwatchPreview().
   */
  async watchPreview(): Promise<ms.Producer | null> {
    const program = this.#program;
    if (this.#closed || !program || !this.status().preview) return null;
    if (this.#previewIdle) clearTimeout(this.#previewIdle);
    this.#previewIdle = null;
    this.#previewWatchers += 1;
    // A running preview is shared: only the first watcher (or one after it stopped) starts an encoder.
    if (!this.#preview) {
      this.#previewStart ??= this.#startPreview(program).finally(() => {
        this.#previewStart = null;
      });
    }
    const preview = this.#preview ?? (await this.#previewStart);
    const producer = preview && !preview.producer.closed && !this.#closed ? preview.producer : null;
    if (!producer) this.unwatchPreview();
    return producer;
  }

  /** A host stopped watching; the preview's encoder stops a little after the last one (a reconnect finds it running). */
  unwatchPreview(): void {
    this.#previewWatchers = Math.max(0, this.#previewWatchers - 1);
    if (this.#previewWatchers > 0 || this.#closed || this.#previewIdle) return;
    this.#previewIdle = setTimeout(() => {
      this.#previewIdle = null;
      if (this.#previewWatchers > 0) return;
      const preview = this.#preview;
      this.#preview = null;
      if (this.#program) this.#program.landscape.onPicture = null;
      void preview?.close();
    }, PREVIEW_IDLE_MS);
    this.#previewIdle.unref();
  }

  /**
   * Goes live from the preview: the same program (no restart) now feeds the destinations, the
   * recording and the event page; the broadcast's start time is now.
   */
  goLive(sinks: {
    destinations: PublishTarget[];
    recordPath?: string | null;
    verticalRecordPath?: string | null;
    eventPage?: { dir: string; keep: boolean } | null;
  }): void {
    if (this.#closed || this.#state !== 'preview') return;
    if (sinks.recordPath) this.#recording = new Recording(sinks.recordPath, this.#logger);
    if (sinks.verticalRecordPath) this.#verticalRecording = new Recording(sinks.verticalRecordPath, this.#logger);
    this.#startedAt = new Date();
    this.#startSinks({ destinations: sinks.destinations, eventPage: sinks.eventPage ?? null });
    this.#setState('live');
  }

  #startSinks(sinks: { destinations: PublishTarget[]; eventPage?: { dir: string; keep: boolean } | null }): void {
    if (this.#recording) this.#relay.addSink(this.#recording);
    // The vertical recording starts with the vertical program's first keyframe (its encoder starts now when no destination took it).
    if (this.#verticalRecording) this.#verticalRelay.addSink(this.#verticalRecording);
    if (sinks.eventPage) this.#startHls(sinks.eventPage);
    for (const d of sinks.destinations) this.#addDestination(d);
    this.#syncVertical();
  }

  /** The directory the event page's HLS is written to, null when the broadcast has none (or it could not start). */
  get hlsDir(): string | null {
    return this.#hls && !this.#hls.failed ? this.#hls.dir : null;
  }

  /**
   * Membership, paused state or the featured speaker changed: the program's scene is rebuilt (once
   * for a burst of calls in the same tick) and the next output frame shows it.
   */
  refresh(): void {
    if (this.#closed || this.#refreshQueued) return;
    this.#refreshQueued = true;
    queueMicrotask(() => {
      this.#refreshQueued = false;
      this.#applyScene();
    });
  }

  /** Changes layout, title, lower third, slate text or the logo's corner while live (the next output frame shows it). */
  update(changes: {
    layout?: BroadcastLayout;
    verticalLayout?: VerticalLayout;
    title?: string | null;
    lowerThird?: string | null;
    slateText?: string;
    logoCorner?: LogoCorner;
    idleTimeoutMinutes?: number;
  }): void {
    if (this.#closed) return;
    if (changes.idleTimeoutMinutes !== undefined) {
      this.#idleTimeoutMinutes = changes.idleTimeoutMinutes;
      // A running countdown restarts from when the stage emptied, with the new length.
      if (this.#idleSince) this.#armIdle();
    }
    if (changes.layout !== undefined) this.#layout = changes.layout;
    if (changes.verticalLayout !== undefined) {
      this.#verticalLayout = changes.verticalLayout;
      if (this.#program?.vertical) this.#program.setVertical(this.#verticalOptions());
    }
    if (changes.title !== undefined) this.#title = changes.title;
    if (changes.lowerThird !== undefined) this.#lowerThird = changes.lowerThird;
    if (changes.slateText !== undefined) {
      // The host's words replace both the opening and the break slate.
      this.#slateText = changes.slateText;
      this.#breakText = changes.slateText;
    }
    if (changes.logoCorner !== undefined) {
      this.#logoCorner = changes.logoCorner;
      if (this.#logo) this.#logo = { ...this.#logo, corner: changes.logoCorner };
    }
    this.#emitStatus();
    this.refresh();
  }

  /**
   * Puts a logo (PNG bytes) on air in the logo corner, decoded once and scaled to fit a fifth of the
   * frame's width; null takes it off. Rejects with LogoDecodeError when ffmpeg cannot decode it.
   */
  async setLogo(png: Buffer | null): Promise<void> {
    if (this.#closed) return;
    this.#logoSeq += 1;
    const seq = this.#logoSeq;
    const image = png ? await decodeLogo(this.#options.ffmpegPath, png, logoBox(FRAME_SIZES[this.#resolution])) : null;
    // A later call (or Stop) won meanwhile.
    if (this.#closed || seq !== this.#logoSeq) return;
    this.#logo = image ? { key: newContentKey(), image, corner: this.#logoCorner } : null;
    this.#emitStatus();
    this.refresh();
  }

  /** Adds a destination while live; it starts at the next keyframe. Replaces one with the same id. */
  addDestination(destination: PublishTarget): void {
    if (this.#closed) return;
    this.#addDestination(destination);
    this.#emitStatus();
  }

  /** Stops and removes a destination; the others are not touched. */
  removeDestination(id: string): void {
    const destination = this.#destinations.get(id);
    if (!destination) return;
    this.#destinations.delete(id);
    void destination.stop();
    this.#syncVertical();
    this.#emitStatus();
  }

  status(): BroadcastStatus {
    return {
      id: this.id,
      roomId: this.roomId,
      state: this.#state,
      startedAt: this.#startedAt.toISOString(),
      layout: this.#layout,
      resolution: this.#resolution,
      title: this.#title,
      lowerThird: this.#lowerThird,
      slateText: this.#everOnStage ? this.#breakText : this.#slateText,
      logo: this.#logo ? { corner: this.#logo.corner, width: this.#logo.image.width, height: this.#logo.image.height } : null,
      idleTimeoutMinutes: this.#idleTimeoutMinutes,
      idleSince: this.#idleSince?.toISOString() ?? null,
      recording: this.#recording !== null && !this.#recording.failed,
      preview: this.#program !== null && (this.#state === 'preview' || this.#state === 'live'),
      vertical: {
        layout: this.#verticalLayout,
        resolution: this.#verticalResolution,
        encoding: this.#program?.vertical != null,
        recording: this.#verticalRecording !== null && !this.#verticalRecording.failed,
      },
      composer: { crashes: this.#crashes, lastError: this.#composerError, fps: this.#fpsSample.fps, sources: this.#sourceStatus() },
      destinations: [...this.#destinations.values()].map((d) => d.status()),
    };
  }

  #sourceStatus(): ProgramSourceStatus[] {
    // Lip sync is a matter for decoders that carry a microphone.
    const decoders = (this.#program?.stats().decoders ?? []).filter((d) => d.audio);
    if (decoders.length === 0) return [];
    const names = new Map(this.#options.getParticipants().map((p) => [p.peerId, p.displayName]));
    return decoders.map((d) => {
      const [peerId, screen] = d.key.split('/');
      const name = names.get(peerId ?? '') ?? 'Guest';
      return { name: screen ? `${name} (screen)` : name, avOffsetMs: d.avOffsetMs, bufferMs: d.bufferMs };
    });
  }

  stats(): BroadcastStats {
    const relay = this.#relay.stats();
    const program = this.#program?.stats() ?? null;
    return {
      switches: relay.switches,
      lastSwitchGapMs: relay.lastSwitchGapMs,
      lastSwitchTimestampGapMs: relay.lastSwitchTimestampGapMs,
      composerStarts: program?.encoderStarts ?? 0,
      composerCrashes: this.#crashes,
      firstOutputMs: this.#firstOutputMs,
      composerStartupMs: program?.encoderStartupMs ?? null,
      activeComposerPid: program?.encoderPid ?? null,
      relay,
      program: program ?? emptyProgramStats(),
    };
  }

  /** Each destination's byte counts since it was added, over its retries (for metrics). */
  destinationCounters(): Array<{ destinationId: string; sentBytes: number; droppedBytes: number }> {
    return [...this.#destinations.values()].map((d) => ({ destinationId: d.id, sentBytes: d.sentBytes, droppedBytes: d.droppedBytes }));
  }

  /** Stops the recording, the destinations (clean end of stream), the program; emits 'closed'. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#setState('stopping');
    if (this.#statusTimer) clearInterval(this.#statusTimer);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    // The recording ends when Stop is pressed, not after the destinations' clean end of stream.
    if (this.#previewIdle) clearTimeout(this.#previewIdle);
    const preview = this.#preview ?? (await this.#previewStart);
    await Promise.all([this.#recording?.close(), this.#verticalRecording?.close(), this.#hls?.close(), preview?.close()]);
    const destinations = [...this.#destinations.values()];
    await Promise.all(destinations.map((d) => d.stop()));
    const program = this.#program;
    this.#program = null;
    await program?.close();
    this.#setState('stopped');
    this.emit('closed');
    this.removeAllListeners();
  }

  /** The hosts' preview: a failure leaves the program as it is (hosts then see no preview). */
  async #startPreview(program: Program): Promise<Preview | null> {
    try {
      const preview = await Preview.create({
        id: this.id,
        router: this.#options.router,
        width: program.landscape.width,
        height: program.landscape.height,
        ffmpegPath: this.#options.ffmpegPath,
        logger: this.#logger,
      });
      if (this.#closed) {
        await preview.close();
        return null;
      }
      this.#preview = preview;
      program.landscape.onPicture = (picture) => preview.push(picture);
      return preview;
    } catch (error) {
      this.#logger.warn({ err: error }, 'the program preview could not start; the program goes on without it');
      return null;
    }
  }

  #startHls(eventPage: { dir: string; keep: boolean }): void {
    const hls: HlsOutput = new HlsOutput({
      ...eventPage,
      ffmpegPath: this.#options.ffmpegPath,
      logger: this.#logger.child({ eventPage: true }),
      reattach: () => {
        this.#relay.removeSink(hls.id);
        this.#relay.addSink(hls);
      },
    });
    this.#hls = hls;
    this.#relay.addSink(hls);
  }

  #addDestination(d: PublishTarget): void {
    this.#destinations.get(d.id)?.stop().catch(() => undefined);
    const relay = this.#relayFor(d.program);
    const destination = new Destination({
      destination: d,
      createPusher: this.#createPusher,
      logger: this.#logger.child({ destination: d.id }),
      ...(this.#options.destinationClock ? { clock: this.#options.destinationClock } : {}),
      ...(this.#options.destinationRetry ? { retry: this.#options.destinationRetry } : {}),
    });
    destination.on('status', () => this.#emitStatus());
    // The broadcast owns its sinks: a destination says when it takes media, the relay is ours.
    destination.on('feed', (on) => (on ? relay.addSink(destination) : relay.removeSink(destination.id)));
    this.#destinations.set(d.id, destination);
    this.#syncVertical();
    destination.start();
  }

  #relayFor(program: ProgramKind): FlvRelay {
    return program === 'vertical' ? this.#verticalRelay : this.#relay;
  }

  #verticalOptions(): { layout: VerticalLayout; resolution: Resolution } {
    return { layout: this.#verticalLayout, resolution: this.#verticalResolution };
  }

  /** The vertical program runs exactly while a destination takes it or it is recorded. */
  #syncVertical(): void {
    const program = this.#program;
    if (!program || this.#closed) return;
    const wanted = this.#verticalRecording !== null || [...this.#destinations.values()].some((d) => d.program === 'vertical');
    if (wanted && !program.vertical) program.setVertical(this.#verticalOptions());
    else if (!wanted && program.vertical) program.setVertical(null);
  }

  /** Feeds the vertical output's encoders to the vertical relay. */
  #attachVertical(output: ProgramOutput): void {
    const first = output.encoderId;
    if (first) this.#verticalRelay.expect(first);
    output.on('encoder', (encoderId) => this.#verticalRelay.expect(encoderId));
    output.on('tag', (encoderId, tag) => this.#verticalRelay.push(encoderId, tag));
    output.on('encodercrash', (error) => {
      if (this.#closed) return;
      this.#crashes += 1;
      this.#composerError = `The vertical program's encoder stopped (${error.message.slice(0, 200)}); restarting it.`;
      this.#logger.warn({ err: error }, 'vertical encoder crashed; restarting');
      this.#emitStatus();
    });
  }

  /** What the program should show now: the participants' producers, the settings, the featured speaker. */
  #sceneInput(): { input: Omit<SceneInput, 'frame'>; producers: Map<string, ms.Producer> } {
    const producers = new Map<string, ms.Producer>();
    const participants: SceneParticipant[] = this.#options.getParticipants().map((p) => {
      const pick = (source: 'mic' | 'camera' | 'screen'): SceneMedia | null => {
        const entry = p.producers.find((x) => x.source === source && !x.producer.closed);
        if (!entry) return null;
        producers.set(entry.producer.id, entry.producer);
        return { producerId: entry.producer.id, paused: entry.producer.paused };
      };
      return { peerId: p.peerId, displayName: p.displayName, camera: pick('camera'), screen: pick('screen'), mic: pick('mic'), screenOnly: p.screenOnly === true };
    });
    if (participants.length > 0) this.#everOnStage = true;
    return {
      input: {
        participants,
        layout: this.#layout,
        speakerId: this.#options.getActiveSpeakerId(),
        title: this.#title,
        lowerThird: this.#lowerThird,
        slateText: this.#everOnStage ? this.#breakText : this.#slateText,
        logo: this.#logo,
      },
      producers,
    };
  }

  #applyScene(): void {
    if (this.#closed || !this.#program) return;
    const { input, producers } = this.#sceneInput();
    this.#program.setScene(input, producers);
    this.#setIdle(input.participants.length === 0 && this.#everOnStage);
  }

  /** The stage emptied (after the show began) or someone is back: starts or cancels the idle countdown. */
  #setIdle(idle: boolean): void {
    if (idle === (this.#idleSince !== null)) return;
    this.#idleSince = idle ? new Date() : null;
    if (idle) this.#armIdle();
    else if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    this.#emitStatus();
  }

  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    const since = this.#idleSince;
    if (!since) return;
    const left = this.#idleTimeoutMinutes * (this.#options.minuteMs ?? 60_000) - (Date.now() - since.getTime());
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (!this.#closed && this.#idleSince) this.emit('idle');
    }, Math.max(0, left));
    this.#idleTimer.unref();
  }

  /** Starts the program (decoders, clock, encoder) and waits until the relay forwards its first keyframe. */
  async #startProgram(): Promise<void> {
    const { input, producers } = this.#sceneInput();
    const program = Program.create(
      { id: this.id, router: this.#options.router, resolution: this.#resolution, ffmpegPath: this.#options.ffmpegPath, logger: this.#logger },
      input,
      producers,
    );
    this.#program = program;
    program.on('encoder', (encoderId) => this.#relay.expect(encoderId));
    program.on('vertical', (output) => {
      if (output) this.#attachVertical(output);
    });
    const first = program.stats().encoderId;
    if (first) this.#relay.expect(first);
    program.on('tag', (encoderId, tag) => {
      if (tag.type === TAG_VIDEO && this.#relay.activeSource === encoderId) this.#videoTags += 1;
      this.#relay.push(encoderId, tag);
    });
    program.on('encodercrash', (error) => {
      if (this.#closed) return;
      this.#crashes += 1;
      this.#composerError = `The encoder stopped (${error.message.slice(0, 200)}); restarting it.`;
      this.#logger.warn({ err: error }, 'encoder crashed; restarting');
      this.#emitStatus();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#relay.off('switched', onSwitched);
        reject(new Error('The program did not produce video in time.'));
      }, FIRST_OUTPUT_TIMEOUT_MS);
      const onSwitched = (): void => {
        clearTimeout(timer);
        this.#relay.off('switched', onSwitched);
        resolve();
      };
      this.#relay.on('switched', onSwitched);
    });
  }

  #onSwitched(info: SwitchInfo): void {
    if (this.#firstOutputMs === null) this.#firstOutputMs = performance.now() - this.#createdAt;
    if (info.from) {
      this.#logger.info({ from: info.from, to: info.to, gapMs: info.gapMs, timestampGapMs: info.timestampGapMs }, 'encoder switched');
    }
    if (this.#state === 'starting') this.#setState(this.#options.preview ? 'preview' : 'live');
  }

  #tick(): void {
    if (this.#closed) return;
    const now = performance.now();
    const seconds = (now - this.#fpsSample.at) / 1000;
    if (seconds > 0) {
      const fps = (this.#videoTags - this.#fpsSample.tags) / seconds;
      this.#fpsSample = { at: now, tags: this.#videoTags, fps: Math.round(fps * 10) / 10 };
    }
    const last = this.#relay.stats().lastForwardAt;
    if (this.#program && last !== null && now - last > ENCODER_STALL_MS) {
      this.#program.restartEncoder(new Error('no output for 6 s'));
      return;
    }
    const verticalLast = this.#verticalRelay.stats().lastForwardAt;
    if (this.#program?.vertical && verticalLast !== null && now - verticalLast > ENCODER_STALL_MS) {
      this.#program.vertical.restartEncoder(new Error('no output for 6 s'));
    }
    if (this.#state === 'live' || this.#state === 'preview') this.#emitStatus();
  }

  #setState(state: BroadcastState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emitStatus();
  }

  #emitStatus(): void {
    this.emit('status', this.status());
  }
}

function emptyProgramStats(): ProgramStats {
  return {
    frames: 0, repeatedFrames: 0, droppedFrames: 0, maxBurst: 0, driftMs: 0, encoderStarts: 0, encoderCrashes: 0,
    encoderPid: null, encoderId: null, encoderStartupMs: null, decoders: [], decoderRestarts: 0, sceneVersion: 0, slate: null, drawMsPerFrame: 0,
    vertical: null,
  };
}
