import type { types as ms } from 'mediasoup';
import type { BroadcastLayout, BroadcastState, BroadcastStatus, Resolution } from '@onair/shared';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { Destination, type Clock, type ResolvedDestination, type RetryPolicy } from '../destinations/Destination.js';
import { rtmpPusherFactory, type PusherFactory } from '../destinations/Pusher.js';
import { buildPublishUrl } from '../destinations/url.js';
import { Composer } from './Composer.js';
import { TAG_VIDEO } from './flv.js';
import { FlvRelay, type FlvRelayStats, type SwitchInfo } from './FlvRelay.js';
import { compositionKey, planComposition, type PlanParticipant } from './plan.js';
import { Recording } from './Recording.js';

export type { ResolvedDestination };

export interface BroadcastParticipant {
  peerId: string;
  displayName: string;
  /** producer.paused tells camera off / muted. */
  producers: Array<{ producer: ms.Producer; source: 'mic' | 'camera' | 'screen' }>;
}

export interface BroadcastOptions {
  id: string;
  roomId: string;
  router: ms.Router;
  getParticipants: () => BroadcastParticipant[];
  getActiveSpeakerId: () => string | null;
  destinations: ResolvedDestination[];
  /** Default 'auto'. */
  layout?: BroadcastLayout;
  /** Default '720p'. */
  resolution?: Resolution;
  title?: string | null;
  lowerThird?: string | null;
  /** Shown when nobody sends video. Default 'Starting soon'. */
  slateText?: string;
  /** Also write the stream to this .flv file; default null (no recording). */
  recordPath?: string | null;
  ffmpegPath: string;
  logger: Logger;
  /** Tests: replace the real pushers / the retry timing of destinations. */
  createPusher?: PusherFactory;
  destinationRetry?: Partial<RetryPolicy>;
  destinationClock?: Clock;
}

export type BroadcastEvents = {
  /** On every state change and about every 2 s while live. */
  status: [BroadcastStatus];
  closed: [];
};

export interface BroadcastStats {
  /** Composer switches done by the relay, the first start included. */
  switches: number;
  /** Wall-clock gap between the old and the new composer's output at the last switch. */
  lastSwitchGapMs: number | null;
  lastSwitchTimestampGapMs: number | null;
  /** Composer starts (first, membership changes, crashes). */
  composerStarts: number;
  composerCrashes: number;
  /** create() → first tag forwarded by the relay. */
  firstOutputMs: number | null;
  /** First RTP resumed → first video tag out, for the active composer. */
  composerStartupMs: number | null;
  activeComposerPid: number | null;
  relay: FlvRelayStats;
}

/** Wait after a refresh() before recomposing, so bursts of changes cause one restart. */
const REFRESH_DEBOUNCE_MS = 300;
/** The featured speaker stays at least this long. */
const SPEAKER_HOLD_MS = 2000;
const STATUS_INTERVAL_MS = 2000;
/** A new composer that shows no keyframe in this time is given up on. */
const COMPOSER_START_TIMEOUT_MS = 15_000;
/** The live composer producing nothing this long is treated as crashed. */
const COMPOSER_STALL_MS = 6000;

/**
 * A live broadcast of one room: composes the room with ffmpeg (one encode), relays the FLV
 * through FlvRelay to every destination and the recording, and swaps composers on membership
 * changes without dropping the destinations' connections.
 */
export class Broadcast extends TypedEmitter<BroadcastEvents> {
  readonly id: string;
  readonly roomId: string;
  readonly #options: BroadcastOptions;
  readonly #logger: Logger;
  readonly #relay = new FlvRelay();
  readonly #destinations = new Map<string, Destination>();
  readonly #createPusher: PusherFactory;
  readonly #recording: Recording | null;
  readonly #startedAt = new Date();
  readonly #createdAt = performance.now();
  readonly #resolution: Resolution;
  readonly #slateText: string;
  readonly #watched = new Map<ms.Producer, { stopped: () => void; resumed: () => void; closed: () => void }>();
  #state: BroadcastState = 'starting';
  #layout: BroadcastLayout;
  #title: string | null;
  #lowerThird: string | null;
  #active: { composer: Composer; key: string } | null = null;
  #pending: Composer | null = null;
  #recomposing = false;
  #recomposeAgain = false;
  #composerSeq = 0;
  #composerStarts = 0;
  #crashes = 0;
  #consecutiveFailures = 0;
  #composerError: string | null = null;
  #firstOutputMs: number | null = null;
  #shownSpeaker: string | null = null;
  #shownSpeakerSince = 0;
  #refreshTimer: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
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
    this.#title = options.title ?? null;
    this.#lowerThird = options.lowerThird ?? null;
    this.#slateText = options.slateText ?? 'Starting soon';
    this.#createPusher = options.createPusher ?? rtmpPusherFactory({ logger: options.logger });
    this.#recording = options.recordPath ? new Recording(options.recordPath, options.logger) : null;
    this.#relay.on('switched', (info) => this.#onSwitched(info));
  }

  /** Validates the destinations, starts the first composer, then the destinations and the recording. */
  static async create(options: BroadcastOptions): Promise<Broadcast> {
    for (const d of options.destinations) buildPublishUrl(d.serverUrl, d.streamKey);
    const broadcast = new Broadcast(options);
    try {
      await broadcast.#startComposer();
    } catch (error) {
      await broadcast.close();
      throw error;
    }
    if (broadcast.#recording) broadcast.#relay.addSink(broadcast.#recording);
    for (const d of options.destinations) broadcast.#addDestination(d);
    broadcast.#statusTimer = setInterval(() => broadcast.#tick(), STATUS_INTERVAL_MS);
    broadcast.#emitStatus();
    return broadcast;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Membership, paused state or active speaker changed: recompose if the picture changes. Debounced,
   * except with `immediate`: an input of the live composer stopped, so its picture is already frozen
   * (ffmpeg waits for every input) and waiting longer only lengthens the gap.
   */
  refresh(options: { immediate?: boolean } = {}): void {
    if (this.#closed) return;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(
      () => {
        this.#refreshTimer = null;
        void this.#recompose();
      },
      options.immediate ? 0 : REFRESH_DEBOUNCE_MS,
    );
  }

  /** Changes layout, title or lower third while live (a recompose). */
  update(changes: { layout?: BroadcastLayout; title?: string | null; lowerThird?: string | null }): void {
    if (this.#closed) return;
    if (changes.layout !== undefined) this.#layout = changes.layout;
    if (changes.title !== undefined) this.#title = changes.title;
    if (changes.lowerThird !== undefined) this.#lowerThird = changes.lowerThird;
    this.#emitStatus();
    this.refresh();
  }

  /** Adds a destination while live; it starts at the next keyframe. Replaces one with the same id. */
  addDestination(destination: ResolvedDestination): void {
    if (this.#closed) return;
    buildPublishUrl(destination.serverUrl, destination.streamKey);
    this.#addDestination(destination);
    this.#emitStatus();
  }

  /** Stops and removes a destination; the others are not touched. */
  removeDestination(id: string): void {
    const destination = this.#destinations.get(id);
    if (!destination) return;
    this.#destinations.delete(id);
    void destination.stop();
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
      recording: this.#recording !== null && !this.#recording.failed,
      composer: { crashes: this.#crashes, lastError: this.#composerError, fps: this.#fpsSample.fps },
      destinations: [...this.#destinations.values()].map((d) => d.status()),
    };
  }

  stats(): BroadcastStats {
    const relay = this.#relay.stats();
    const active = this.#active?.composer;
    return {
      switches: relay.switches,
      lastSwitchGapMs: relay.lastSwitchGapMs,
      lastSwitchTimestampGapMs: relay.lastSwitchTimestampGapMs,
      composerStarts: this.#composerStarts,
      composerCrashes: this.#crashes,
      firstOutputMs: this.#firstOutputMs,
      composerStartupMs:
        active?.firstVideoAt != null && active.resumedAt != null ? active.firstVideoAt - active.resumedAt : null,
      activeComposerPid: active?.pid ?? null,
      relay,
    };
  }

  /** Stops the destinations (clean end of stream), the recording, the composers; emits 'closed'. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#setState('stopping');
    for (const timer of [this.#refreshTimer, this.#retryTimer]) if (timer) clearTimeout(timer);
    if (this.#statusTimer) clearInterval(this.#statusTimer);
    for (const [producer, { stopped, resumed, closed }] of this.#watched) {
      producer.observer.off('pause', stopped);
      producer.observer.off('resume', resumed);
      producer.observer.off('close', closed);
    }
    this.#watched.clear();
    const destinations = [...this.#destinations.values()];
    await Promise.all(destinations.map((d) => d.stop()));
    await this.#recording?.close();
    const composers = [this.#active?.composer, this.#pending].filter((c): c is Composer => c != null);
    this.#active = null;
    this.#pending = null;
    await Promise.all(composers.map((c) => c.close()));
    this.#setState('stopped');
    this.emit('closed');
    this.removeAllListeners();
  }

  #addDestination(d: ResolvedDestination): void {
    this.#destinations.get(d.id)?.stop().catch(() => undefined);
    const destination = new Destination({
      destination: d,
      createPusher: this.#createPusher,
      attach: (sink) => this.#relay.addSink(sink),
      detach: (sinkId) => this.#relay.removeSink(sinkId),
      logger: this.#logger.child({ destination: d.id }),
      ...(this.#options.destinationClock ? { clock: this.#options.destinationClock } : {}),
      ...(this.#options.destinationRetry ? { retry: this.#options.destinationRetry } : {}),
    });
    destination.on('status', () => this.#emitStatus());
    this.#destinations.set(d.id, destination);
    destination.start();
  }

  #plan(): { key: string; composition: ReturnType<typeof planComposition>; producers: Map<string, ms.Producer> } {
    const producers = new Map<string, ms.Producer>();
    const participants: PlanParticipant[] = this.#options.getParticipants().map((p) => {
      const pick = (source: 'mic' | 'camera' | 'screen'): string | null => {
        const entry = p.producers.find((x) => x.source === source && !x.producer.closed && !x.producer.paused);
        if (!entry) return null;
        producers.set(entry.producer.id, entry.producer);
        return entry.producer.id;
      };
      for (const { producer } of p.producers) this.#watch(producer);
      return { peerId: p.peerId, displayName: p.displayName, camera: pick('camera'), screen: pick('screen'), mic: pick('mic') };
    });
    const composition = planComposition({
      participants,
      layout: this.#layout,
      speakerId: this.#featuredSpeaker(),
      resolution: this.#resolution,
      title: this.#title,
      lowerThird: this.#lowerThird,
      slateText: this.#slateText,
    });
    return { key: compositionKey(composition), composition, producers };
  }

  /** The active speaker, held for at least SPEAKER_HOLD_MS so the speaker layout does not flicker. */
  #featuredSpeaker(): string | null {
    const active = this.#options.getActiveSpeakerId();
    const now = performance.now();
    if (this.#shownSpeaker === null || active === this.#shownSpeaker) {
      if (active !== null && this.#shownSpeaker === null) this.#shownSpeakerSince = now;
      this.#shownSpeaker = this.#shownSpeaker ?? active;
      return this.#shownSpeaker;
    }
    if (active !== null && now - this.#shownSpeakerSince >= SPEAKER_HOLD_MS) {
      this.#shownSpeaker = active;
      this.#shownSpeakerSince = now;
    } else if (active !== null && !this.#closed) {
      const wait = SPEAKER_HOLD_MS - (now - this.#shownSpeakerSince);
      setTimeout(() => this.refresh(), Math.max(0, wait - REFRESH_DEBOUNCE_MS) + 10).unref();
    }
    return this.#shownSpeaker;
  }

  /** A producer pausing, resuming or closing changes the picture even if nobody calls refresh(). */
  #watch(producer: ms.Producer): void {
    if (this.#watched.has(producer)) return;
    const stopped = (): void => this.refresh({ immediate: true });
    const resumed = (): void => this.refresh();
    const closed = (): void => {
      this.#watched.delete(producer);
      stopped();
    };
    producer.observer.on('pause', stopped);
    producer.observer.on('resume', resumed);
    producer.observer.once('close', closed);
    this.#watched.set(producer, { stopped, resumed, closed });
  }

  /** Starts a new composer if the picture changed; one at a time, repeating while changes keep coming. */
  async #recompose(): Promise<void> {
    if (this.#closed) return;
    if (this.#recomposing) {
      this.#recomposeAgain = true;
      return;
    }
    this.#recomposing = true;
    try {
      do {
        this.#recomposeAgain = false;
        await this.#startComposer().catch((error: unknown) => this.#onComposerFailure(error));
      } while (this.#recomposeAgain && !this.#closed);
    } finally {
      this.#recomposing = false;
    }
  }

  /** Starts a composer for the current plan (unless the live one already draws it) and waits for the relay to switch to it. */
  async #startComposer(): Promise<void> {
    const plan = this.#plan();
    if (this.#active && this.#active.key === plan.key) return;
    this.#composerSeq += 1;
    this.#composerStarts += 1;
    const composer = await Composer.create({
      id: `${this.id}-c${this.#composerSeq}`,
      router: this.#options.router,
      composition: plan.composition,
      resolution: this.#resolution,
      producers: plan.producers,
      ffmpegPath: this.#options.ffmpegPath,
      logger: this.#logger,
    });
    if (this.#closed) {
      await composer.close();
      return;
    }
    this.#pending = composer;
    this.#relay.expect(composer.id);
    composer.on('tag', (tag) => {
      if (tag.type === TAG_VIDEO && this.#relay.activeSource === composer.id) this.#videoTags += 1;
      this.#relay.push(composer.id, tag);
    });
    let onSwitched: ((info: SwitchInfo) => void) | null = null;
    const switched = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('The composer did not produce video in time.')), COMPOSER_START_TIMEOUT_MS);
      composer.on('failed', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      composer.on('died', (error) => {
        clearTimeout(timer);
        if (this.#active?.composer === composer) this.#onActiveDied(composer, error);
        else reject(error);
      });
      onSwitched = (info: SwitchInfo): void => {
        if (info.to !== composer.id) return;
        clearTimeout(timer);
        this.#active = { composer, key: plan.key };
        if (this.#pending === composer) this.#pending = null;
        resolve();
      };
      this.#relay.on('switched', onSwitched);
    });
    try {
      await switched;
    } catch (error) {
      if (onSwitched) this.#relay.off('switched', onSwitched);
      if (this.#pending === composer) this.#pending = null;
      this.#relay.dropSource(composer.id);
      await composer.close();
      throw error;
    }
    if (onSwitched) this.#relay.off('switched', onSwitched);
    this.#consecutiveFailures = 0;
  }

  #onSwitched(info: SwitchInfo): void {
    if (this.#firstOutputMs === null) this.#firstOutputMs = performance.now() - this.#createdAt;
    if (info.from) {
      this.#logger.info({ from: info.from, to: info.to, gapMs: info.gapMs, timestampGapMs: info.timestampGapMs }, 'composer switched');
    }
    const old = info.from;
    const previous = [this.#active?.composer].find((c) => c?.id === old);
    if (previous) void previous.close();
    if (this.#state === 'starting') this.#setState('live');
  }

  #onActiveDied(composer: Composer, error: Error): void {
    if (this.#closed) return;
    this.#crashes += 1;
    this.#composerError = `The composer stopped (${error.message.slice(0, 200)}); restarting it.`;
    this.#logger.warn({ err: error }, 'composer died; restarting');
    this.#relay.dropSource(composer.id);
    this.#active = null;
    void composer.close();
    this.#emitStatus();
    void this.#recompose();
  }

  #onComposerFailure(error: unknown): void {
    if (this.#closed) return;
    const message = error instanceof Error ? error.message : String(error);
    this.#consecutiveFailures += 1;
    this.#composerError = `The composer could not start (${message.slice(0, 200)}).`;
    this.#logger.warn({ err: error }, 'composer failed to start');
    this.#emitStatus();
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.#consecutiveFailures - 1, 5));
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#recompose();
    }, delay);
  }

  #tick(): void {
    if (this.#closed) return;
    const now = performance.now();
    const seconds = (now - this.#fpsSample.at) / 1000;
    if (seconds > 0) {
      const fps = (this.#videoTags - this.#fpsSample.tags) / seconds;
      this.#fpsSample = { at: now, tags: this.#videoTags, fps: Math.round(fps * 10) / 10 };
    }
    const active = this.#active?.composer;
    const last = this.#relay.stats().lastForwardAt;
    if (active && last !== null && now - last > COMPOSER_STALL_MS && !this.#pending) {
      this.#onActiveDied(active, new Error('no output for 6 s'));
      return;
    }
    if (this.#state === 'live') this.#emitStatus();
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
