import type { types as ms } from 'mediasoup';
import type { Resolution } from '@onair/shared';
import type { Clock, Timer } from '../media/clock.js';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { FRAME_SIZES } from './layout.js';
import { OUTPUT_FPS } from './profile.js';
import type { FlvTag } from '../flv/flv.js';
import { AudioMixer, CHANNELS, SAMPLE_RATE } from './AudioMixer.js';
import { Encoder } from './Encoder.js';
import { FrameClock, monotonicClock } from './FrameClock.js';
import { allocPicture, blendOverlay, copyInto, fillRect, intersects, rgbToYuv, BLACK, type Picture } from './picture.js';
import { RtpDecoder } from './RtpDecoder.js';
import { buildScene, diffSources, sameScene, sourcesFor, type Scene, type SceneInput, type SourceWant } from './scene.js';
import { newContentKey, Stills } from './Stills.js';

export type ProgramEvents = {
  /** A new encoder started (the first, or after a crash): its tags come with this id. */
  encoder: [string];
  tag: [string, FlvTag];
  /** The encoder ended; another is being started. */
  encodercrash: [Error];
};

export interface ProgramOptions {
  id: string;
  router: ms.Router;
  resolution: Resolution;
  ffmpegPath: string;
  logger: Logger;
  fontFile?: string;
  clock?: Clock;
  /** Encoder settings (bench: encoder study); default the ingest profile. */
  codecArgs?: string[];
}

export interface DecoderStats {
  producerId: string;
  kind: 'audio' | 'video';
  pid: number | null;
  width: number;
  height: number;
  outputs: number;
  restarts: number;
  /** RTP resumed → first picture / PCM (ms), null until then. */
  startupMs: number | null;
}

export interface ProgramStats {
  frames: number;
  /** Ticks that re-sent the previous picture because the encoder had not taken the others yet. */
  repeatedFrames: number;
  /** Ticks not sent at all (no encoder running, or it fell more than a second behind). */
  droppedFrames: number;
  maxBurst: number;
  driftMs: number;
  encoderStarts: number;
  encoderCrashes: number;
  encoderPid: number | null;
  encoderId: string | null;
  /** The current encoder's start → its first video tag (ms). */
  encoderStartupMs: number | null;
  decoders: DecoderStats[];
  decoderRestarts: number;
  sceneVersion: number;
  /** The slate's text while the slate is on air, else null. */
  slate: string | null;
  /** Time spent drawing and mixing, per output frame on average (ms). */
  drawMsPerFrame: number;
}

/** A source shows its name tile once it has sent no picture for this long. */
export const STALL_MS = 1000;
/** Output pictures in flight to the encoder before ticks repeat the last one. */
const VIDEO_SLOTS = 8;
/** Pictures a resized source's new decoder delivers before it replaces the old one. */
const PROMOTE_AFTER_FRAMES = 3;
const AUDIO_SLOTS = 16;
/** The encoder this far behind (in pictures queued) means it cannot keep up: ticks are dropped, not queued. */
const MAX_QUEUED_PICTURES = 30;
const TILE_BG = '0x1f2937';
const SLATE_BG = '0x111827';
const TITLE_BG = '0x111827';
const LOWER_THIRD_BG = '0x1d4ed8';

interface VideoSlot {
  picture: Picture;
  pending: number;
  done: () => void;
  sceneVersion: number;
  tileKeys: number[];
  bandKeys: [number, number];
  slateKey: number;
}

interface AudioSlot {
  bytes: Buffer;
  samples: Int16Array;
  pending: boolean;
  done: () => void;
}

/** One on-stage producer: its decoder, and during a resize the next decoder taking over. */
class Source {
  readonly producerId: string;
  want: SourceWant;
  active: RtpDecoder | null = null;
  next: RtpDecoder | null = null;
  frameKey = 0;
  lastFrameAt = -Infinity;
  restarts = 0;
  #retry: Timer | null = null;
  #failures = 0;
  #seq = 0;
  closed = false;

  constructor(
    readonly producer: ms.Producer,
    want: SourceWant,
    private readonly ctx: {
      id: string;
      router: ms.Router;
      ffmpegPath: string;
      logger: Logger;
      clock: Clock;
      mixer: AudioMixer;
      onRestart: () => void;
    },
  ) {
    this.producerId = producer.id;
    this.want = want;
    if (want.kind === 'audio') ctx.mixer.addSource(producer.id);
    void this.#spawn();
  }

  get picture(): Picture | null {
    return this.active?.picture ?? null;
  }

  resize(want: SourceWant): void {
    this.want = want;
    void this.#spawn();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#retry?.cancel();
    if (this.want.kind === 'audio') this.ctx.mixer.removeSource(this.producerId);
    const decoders = [this.active, this.next];
    this.active = null;
    this.next = null;
    await Promise.all(decoders.map((d) => d?.close()));
  }

  async #spawn(): Promise<void> {
    if (this.closed || this.producer.closed) return;
    this.#retry?.cancel();
    this.#retry = null;
    const want = this.want;
    this.#seq += 1;
    const previousNext = this.next;
    this.next = null;
    void previousNext?.close();
    let decoder: RtpDecoder;
    try {
      decoder = await RtpDecoder.create({
        id: `${this.ctx.id}-${want.kind[0]}${this.producerId.slice(0, 6)}-${this.#seq}`,
        router: this.ctx.router,
        producer: this.producer,
        width: want.width,
        height: want.height,
        layer: want.layer,
        fit: want.fit,
        ffmpegPath: this.ctx.ffmpegPath,
        logger: this.ctx.logger,
      });
    } catch (error) {
      if (!this.closed && !this.producer.closed) this.#scheduleRetry(error);
      return;
    }
    if (this.closed || want !== this.want) {
      await decoder.close();
      return;
    }
    if (this.active === null) this.active = decoder;
    else this.next = decoder;
    decoder.on('frame', () => {
      // A new decoder takes over once it runs steadily (its first pictures can come in a burst).
      if (decoder === this.next && decoder.outputs >= PROMOTE_AFTER_FRAMES) this.#promote(decoder);
      if (decoder !== this.active) return;
      this.frameKey = newContentKey();
      this.lastFrameAt = this.ctx.clock.now();
      this.#failures = 0;
    });
    decoder.on('pcm', (chunk) => {
      if (decoder === this.next) this.#promote(decoder);
      if (decoder === this.active) this.ctx.mixer.push(this.producerId, chunk);
    });
    decoder.on('paused', (paused) => {
      if (paused && this.want.kind === 'audio') this.ctx.mixer.flush(this.producerId);
    });
    decoder.on('ended', (error) => {
      void decoder.close();
      if (this.closed) return;
      if (decoder === this.next) this.next = null;
      if (decoder !== this.active) return;
      // The tile holds its last picture (then its name tile) while the decoder comes back.
      this.active = null;
      if (this.producer.paused) {
        // ffmpeg gives up on an RTP input that stays silent for 10 s (a long mute): start again on resume.
        this.ctx.logger.debug({ producer: this.producerId }, 'decoder of a paused producer ended; restarting on resume');
        this.producer.observer.once('resume', () => void this.#spawn());
        return;
      }
      this.ctx.logger.warn({ err: error, producer: this.producerId }, 'decoder ended; restarting it');
      this.#scheduleRetry(error);
    });
  }

  #promote(decoder: RtpDecoder): void {
    const old = this.active;
    this.active = decoder;
    this.next = null;
    void old?.close();
  }

  #scheduleRetry(error: unknown): void {
    this.#failures += 1;
    this.restarts += 1;
    this.ctx.onRestart();
    const delay = Math.min(5000, 250 * 2 ** Math.min(this.#failures - 1, 5));
    this.ctx.logger.debug({ err: error, producer: this.producerId, delay }, 'decoder retry');
    this.#retry?.cancel();
    this.#retry = this.ctx.clock.setTimeout(() => void this.#spawn(), delay);
  }

  stats(): DecoderStats {
    const d = this.active;
    return {
      producerId: this.producerId,
      kind: this.want.kind,
      pid: d?.pid ?? null,
      width: d?.width ?? this.want.width,
      height: d?.height ?? this.want.height,
      outputs: d?.outputs ?? 0,
      restarts: this.restarts,
      startupMs: d && d.firstOutputAt !== null && d.resumedAt !== null ? Math.round(d.firstOutputAt - d.resumedAt) : null,
    };
  }
}

/**
 * The program of one broadcast, from Go live to Stop: one decoder per on-stage producer, a scene
 * drawn by this process on its own 30 fps clock (the newest picture of each source, name tiles,
 * bands, the slate) with the microphones mixed, and one encoder that never restarts for a change
 * in the room. A change of the scene shows on the next output frame.
 */
export class Program extends TypedEmitter<ProgramEvents> {
  readonly id: string;
  readonly #options: ProgramOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #frameClock: FrameClock;
  readonly #mixer: AudioMixer;
  readonly #stills: Stills;
  readonly #sources = new Map<string, Source>();
  readonly #videoSlots: VideoSlot[];
  readonly #audioSlots: AudioSlot[];
  readonly #silentTick: Int16Array;
  readonly #width: number;
  readonly #height: number;
  #scene: Scene;
  #sceneVersion = 1;
  #wants = new Map<string, SourceWant>();
  #encoder: Encoder | null = null;
  #encoderSeq = 0;
  #encoderStarts = 0;
  #encoderCrashes = 0;
  #encoderFailuresInARow = 0;
  #encoderRetry: Timer | null = null;
  #encoderEnded: ((error: Error) => void) | null = null;
  #lastSlot: VideoSlot | null = null;
  #repeated = 0;
  #dropped = 0;
  #decoderRestarts = 0;
  #drawMs = 0;
  #closed = false;

  private constructor(options: ProgramOptions) {
    super(options.logger);
    this.id = options.id;
    this.#options = options;
    this.#logger = options.logger;
    this.#clock = options.clock ?? monotonicClock;
    const frame = FRAME_SIZES[options.resolution];
    this.#width = frame.width;
    this.#height = frame.height;
    const samplesPerTick = SAMPLE_RATE / OUTPUT_FPS;
    this.#mixer = new AudioMixer({ samplesPerTick });
    this.#silentTick = new Int16Array(samplesPerTick * CHANNELS);
    this.#stills = new Stills({ ffmpegPath: options.ffmpegPath, logger: options.logger, ...(options.fontFile ? { fontFile: options.fontFile } : {}) });
    this.#videoSlots = Array.from({ length: VIDEO_SLOTS }, () => {
      const slot: VideoSlot = {
        picture: allocPicture(frame.width, frame.height),
        pending: 0,
        done: () => {
          slot.pending -= 1;
        },
        sceneVersion: 0,
        tileKeys: [],
        bandKeys: [-1, -1],
        slateKey: -1,
      };
      return slot;
    });
    this.#audioSlots = Array.from({ length: AUDIO_SLOTS }, () => {
      const bytes = Buffer.from(new ArrayBuffer(samplesPerTick * CHANNELS * 2));
      const slot: AudioSlot = {
        bytes,
        samples: new Int16Array(bytes.buffer, bytes.byteOffset, samplesPerTick * CHANNELS),
        pending: false,
        done: () => {
          slot.pending = false;
        },
      };
      return slot;
    });
    this.#scene = buildScene({ participants: [], layout: 'auto', speakerId: null, frame, title: null, lowerThird: null, slateText: '', logo: null });
    this.#frameClock = new FrameClock({ fps: OUTPUT_FPS, clock: this.#clock, onFrame: () => this.#onTick() });
  }

  /** Starts the encoder and the clock; the program shows `initial` at once. */
  static create(options: ProgramOptions, initial: Omit<SceneInput, 'frame'>, producers: Map<string, ms.Producer>): Program {
    const program = new Program(options);
    program.setScene(initial, producers);
    program.#startEncoder();
    program.#frameClock.start();
    return program;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get scene(): Scene {
    return this.#scene;
  }

  /** The room or the settings changed: the next output frame shows the new scene; only decoders whose tile changed are touched. */
  setScene(input: Omit<SceneInput, 'frame'>, producers: Map<string, ms.Producer>): void {
    if (this.#closed) return;
    const scene = buildScene({ ...input, frame: { width: this.#width, height: this.#height } });
    const wants = sourcesFor(scene);
    const diff = diffSources(this.#wants, wants);
    for (const id of diff.remove) {
      const source = this.#sources.get(id);
      this.#sources.delete(id);
      void source?.close();
    }
    for (const want of diff.add) {
      const producer = producers.get(want.producerId);
      if (!producer || producer.closed) {
        wants.delete(want.producerId);
        continue;
      }
      this.#sources.set(want.producerId, new Source(producer, want, this.#sourceContext()));
    }
    for (const want of diff.resize) this.#sources.get(want.producerId)?.resize(want);
    this.#wants = wants;
    if (!sameScene(scene, this.#scene)) {
      this.#scene = scene;
      this.#sceneVersion += 1;
    }
  }

  stats(): ProgramStats {
    const frames = this.#frameClock.frames;
    return {
      frames,
      repeatedFrames: this.#repeated,
      droppedFrames: this.#dropped,
      maxBurst: this.#frameClock.maxBurst,
      driftMs: Math.round(this.#frameClock.driftMs),
      encoderStarts: this.#encoderStarts,
      encoderCrashes: this.#encoderCrashes,
      encoderPid: this.#encoder?.pid ?? null,
      encoderId: this.#encoder?.id ?? null,
      encoderStartupMs: this.#encoder?.firstVideoAt != null ? Math.round(this.#encoder.firstVideoAt - this.#encoder.startedAt) : null,
      decoders: [...this.#sources.values()].map((s) => s.stats()),
      decoderRestarts: this.#decoderRestarts,
      sceneVersion: this.#sceneVersion,
      slate: this.#scene.slate,
      drawMsPerFrame: frames > 0 ? Math.round((this.#drawMs / frames) * 1000) / 1000 : 0,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const { decoders: _decoders, ...summary } = this.stats();
    this.#logger.info(summary, 'program stopped');
    this.#closed = true;
    this.#frameClock.stop();
    this.#encoderRetry?.cancel();
    this.removeAllListeners();
    const sources = [...this.#sources.values()];
    this.#sources.clear();
    const encoder = this.#encoder;
    this.#encoder = null;
    await Promise.all([...sources.map((s) => s.close()), encoder?.close()]);
    this.#stills.close();
  }

  /** Replaces a hung encoder (it produces nothing): handled as a crash. */
  restartEncoder(reason: Error): void {
    this.#encoderEnded?.(reason);
  }

  #sourceContext() {
    return {
      id: this.id,
      router: this.#options.router,
      ffmpegPath: this.#options.ffmpegPath,
      logger: this.#logger,
      clock: this.#clock,
      mixer: this.#mixer,
      onRestart: () => {
        this.#decoderRestarts += 1;
      },
    };
  }

  #startEncoder(): void {
    if (this.#closed) return;
    this.#encoderSeq += 1;
    this.#encoderStarts += 1;
    const encoder = Encoder.start({
      id: `${this.id}-e${this.#encoderSeq}`,
      width: this.#width,
      height: this.#height,
      resolution: this.#options.resolution,
      ffmpegPath: this.#options.ffmpegPath,
      logger: this.#logger,
      ...(this.#options.codecArgs ? { codecArgs: this.#options.codecArgs } : {}),
    });
    this.#encoder = encoder;
    // A new encoder starts from a clean picture: every slot is redrawn.
    for (const slot of this.#videoSlots) slot.sceneVersion = 0;
    this.emit('encoder', encoder.id);
    encoder.on('tag', (tag) => {
      this.#encoderFailuresInARow = 0;
      this.emit('tag', encoder.id, tag);
    });
    const ended = (error: Error): void => {
      if (this.#encoder !== encoder) return;
      this.#encoder = null;
      this.#encoderCrashes += 1;
      this.#encoderFailuresInARow += 1;
      void encoder.close();
      this.#logger.warn({ err: error }, 'encoder ended; starting another');
      this.emit('encodercrash', error);
      const delay = this.#encoderFailuresInARow <= 1 ? 0 : Math.min(10_000, 500 * 2 ** Math.min(this.#encoderFailuresInARow - 2, 5));
      this.#encoderRetry = this.#clock.setTimeout(() => this.#startEncoder(), delay);
    };
    this.#encoderEnded = ended;
    encoder.on('failed', ended);
    encoder.on('died', ended);
  }

  #onTick(): void {
    if (this.#closed) return;
    const started = performance.now();
    const encoder = this.#encoder;
    const audio = this.#audioSlots.find((s) => !s.pending);
    if (!encoder || !audio || encoder.videoBacklog > MAX_QUEUED_PICTURES * this.#videoSlots[0]!.picture.data.length) {
      // Keep the jitter buffers moving so nothing piles up while the encoder is away.
      this.#mixer.mix(this.#silentTick);
      this.#dropped += 1;
      this.#drawMs += performance.now() - started;
      return;
    }
    let slot = this.#videoSlots.find((s) => s.pending === 0) ?? null;
    if (slot) this.#draw(slot);
    else {
      slot = this.#lastSlot;
      this.#repeated += 1;
    }
    if (!slot) return;
    this.#lastSlot = slot;
    this.#mixer.mix(audio.samples);
    slot.pending += 1;
    audio.pending = true;
    this.#drawMs += performance.now() - started;
    encoder.writeVideo(slot.picture.data, slot.done);
    encoder.writeAudio(audio.bytes, audio.done);
  }

  #draw(slot: VideoSlot): void {
    const scene = this.#scene;
    const picture = slot.picture;
    const W = this.#width;
    const H = this.#height;
    const now = this.#clock.now();
    if (slot.sceneVersion !== this.#sceneVersion) {
      fillRect(picture, { x: 0, y: 0, w: W, h: H }, BLACK);
      slot.sceneVersion = this.#sceneVersion;
      slot.tileKeys = scene.tiles.map(() => -1);
      slot.bandKeys = [-1, -1];
      slot.slateKey = -1;
    }
    const logo = scene.logo;
    if (logo) {
      // The logo is blended afresh every frame over what lies under it, redrawn first.
      fillRect(picture, logo.rect, BLACK);
      slot.slateKey = -1;
      scene.tiles.forEach((tile, i) => {
        if (intersects(tile.rect, logo.rect)) slot.tileKeys[i] = -1;
      });
      if (scene.title && intersects(scene.title.band, logo.rect)) slot.bandKeys[0] = -1;
      if (scene.lowerThird && intersects(scene.lowerThird.band, logo.rect)) slot.bandKeys[1] = -1;
    }
    if (scene.slate !== null) {
      const still = this.#stills.text(scene.slate, W, H, { background: SLATE_BG, fontSize: Math.round(H / 12), align: 'center' });
      const key = still?.key ?? 0;
      if (slot.slateKey !== key) {
        if (still) copyInto(picture, { x: 0, y: 0, w: W, h: H }, still.image);
        else fillRect(picture, { x: 0, y: 0, w: W, h: H }, rgbToYuv(Number(SLATE_BG)));
        slot.slateKey = key;
      }
    }
    scene.tiles.forEach((tile, i) => {
      const source = tile.video ? this.#sources.get(tile.video.producerId) : undefined;
      const live = source && tile.video && !tile.video.paused && source.picture && now - source.lastFrameAt < STALL_MS ? source : null;
      const { rect } = tile;
      if (live && live.picture) {
        if (slot.tileKeys[i] === live.frameKey) return;
        copyInto(picture, rect, live.picture);
        if (tile.label) {
          const size = Math.max(14, Math.round(rect.h / 16));
          const margin = Math.max(4, Math.round(size / 2) * 2);
          // Inside the picture, not on a letterbox bar.
          const shownW = Math.min(live.picture.width, rect.w);
          const shownH = Math.min(live.picture.height, rect.h);
          const left = rect.x + Math.floor((rect.w - shownW) / 4) * 2;
          const bottom = rect.y + Math.floor((rect.h - shownH) / 4) * 2 + shownH;
          const label = this.#stills.label(tile.label, size, shownW - 2 * margin);
          if (label) blendOverlay(picture, label.image, left + margin, bottom - margin - label.image.height);
        }
        slot.tileKeys[i] = live.frameKey;
        return;
      }
      const name = this.#stills.text(tile.name, rect.w, rect.h, { background: TILE_BG, fontSize: Math.max(16, Math.round(rect.h / 9)), align: 'center' });
      const key = name?.key ?? 0;
      if (slot.tileKeys[i] === key) return;
      if (name) copyInto(picture, rect, name.image);
      else fillRect(picture, rect, rgbToYuv(Number(TILE_BG)));
      slot.tileKeys[i] = key;
    });
    const bands = [
      [scene.title, TITLE_BG],
      [scene.lowerThird, LOWER_THIRD_BG],
    ] as const;
    bands.forEach(([band, background], i) => {
      if (!band) return;
      const still = this.#stills.text(band.text, band.band.w, band.band.h, { background, fontSize: Math.round(band.band.h * 0.5), align: 'left' });
      const key = still?.key ?? 0;
      if (slot.bandKeys[i] === key) return;
      if (still) copyInto(picture, band.band, still.image);
      else fillRect(picture, band.band, rgbToYuv(Number(background)));
      slot.bandKeys[i] = key;
    });
    if (logo) blendOverlay(picture, logo.image, logo.rect.x, logo.rect.y);
  }
}
