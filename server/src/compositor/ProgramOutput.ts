import type { ProgramKind, Resolution } from '@onair/shared';
import type { Clock, Timer } from '../media/clock.js';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import type { FlvTag } from '../flv/flv.js';
import { Encoder } from './Encoder.js';
import { OUTPUT_FPS } from './profile.js';
import { StillWatch, type StillRun } from './stillness.js';
import { allocPicture, blendOverlay, copyInto, fillRect, intersects, rgbToYuv, BLACK, type Picture } from './picture.js';
import { sameScene, type Scene } from './scene.js';
import type { Stills } from './Stills.js';

export type ProgramOutputEvents = {
  /** A new encoder started (the first, or after a crash): its tags come with this id. */
  encoder: [string];
  tag: [string, FlvTag];
  /** The encoder ended; another is being started. */
  encodercrash: [Error];
};

/** What a tile needs from a source: its newest picture, a key that changes with it, and when it came. */
export interface TileSource {
  readonly picture: Picture | null;
  readonly frameKey: number;
  readonly lastFrameAt: number;
}

/** One tick's audio, shared by every output's encoder; reusable once each has taken it. */
export interface AudioSlot {
  bytes: Buffer;
  samples: Int16Array;
  pending: number;
  done: () => void;
}

export interface ProgramOutputOptions {
  /** Encoder ids are `${id}-e${n}`. */
  id: string;
  kind: ProgramKind;
  width: number;
  height: number;
  /** The encoder's bitrate class (a vertical 720x1280 program takes 720p's). */
  resolution: Resolution;
  ffmpegPath: string;
  logger: Logger;
  clock: Clock;
  stills: Stills;
  /** The decoded picture for a tile's producer in this output's scene. */
  source: (producerId: string) => TileSource | undefined;
  /** Encoder settings (bench: encoder study); default the ingest profile. */
  codecArgs?: string[];
  /** Ticks that can be in flight to the encoder at once (the Program's audio slots: a tick waits for both). */
  maxTicksInFlight: number;
}

export interface OutputStats {
  kind: ProgramKind;
  width: number;
  height: number;
  /** Ticks that re-sent the previous picture because the encoder had not taken the others yet. */
  repeatedFrames: number;
  /** Ticks not sent at all (no encoder running, or it fell more than a second behind). */
  droppedFrames: number;
  encoderStarts: number;
  encoderCrashes: number;
  encoderPid: number | null;
  encoderId: string | null;
  /** The current encoder's start → its first video tag (ms). */
  encoderStartupMs: number | null;
  sceneVersion: number;
}

/** The longest the program's picture may stand still (the promise the e2e tests read back with freezedetect). */
export const MAX_FREEZE_MS = 1000;

/**
 * A source shows its name tile once it has sent no picture for this long: 0.7 s, under the
 * MAX_FREEZE_MS (1 s) that the program promises no freeze will exceed. With every camera stalled
 * at once (2 busy cores), the picture stands still until this fires, plus the tick that draws the name tile and
 * any ticks repeated meanwhile: at 1000 ms the compositor and backstage e2e read 1.034 s and
 * 1.066 s freezes in CI (one or two ticks past it, as a freeze ended by the name tile would be; the
 * frames were not inspected), and at 700 ms the longest read 0.80 s. 0.7 s leaves 0.3 s for those ticks.
 */
export const STALL_MS = 700;
/** Still runs reported in the log: from freezedetect's shortest freeze in the e2e tests (0.3 s); at warn level above MAX_FREEZE_MS. */
const STILL_REPORT_FRAMES = Math.round(0.3 * OUTPUT_FPS);
/**
 * Output pictures allocated at the start. While an encoder is behind, a slot is added (1.4 MB at
 * 720p), up to one per tick in flight (`maxTicksInFlight`), before ticks repeat the last picture:
 * the pictures it catches up on are each their own, not repeats (a freeze in the output: 102–203
 * repeated of ~1500 ticks in the compositor e2e with 8 slots).
 */
const VIDEO_SLOTS = 8;
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

/**
 * One picture the program puts out (the 16:9 program, or the vertical one) from the sources the
 * Program shares between its outputs: its scene, the pictures drawn into reusable slots on the
 * program's clock, and its own encoder, restarted only when it crashes.
 */
export class ProgramOutput extends TypedEmitter<ProgramOutputEvents> {
  readonly kind: ProgramKind;
  readonly width: number;
  readonly height: number;
  readonly #options: ProgramOutputOptions;
  readonly #logger: Logger;
  readonly #slots: VideoSlot[];
  #scene: Scene;
  #sceneVersion = 1;
  #encoder: Encoder | null = null;
  #encoderSeq = 0;
  #encoderStarts = 0;
  #encoderCrashes = 0;
  #failuresInARow = 0;
  #retry: Timer | null = null;
  #ended: ((error: Error) => void) | null = null;
  #lastSlot: VideoSlot | null = null;
  #repeated = 0;
  #dropped = 0;
  #closed = false;
  readonly #still = new StillWatch(STILL_REPORT_FRAMES, (run) => this.#reportStill(run));
  /** What each tile showed in the last frame drawn (its source's frame key or its name tile's), for the scene version drawn. */
  readonly #drawnKeys: number[] = [];
  #drawnScene = 0;
  /** When the last frame was sent (program time). */
  #sentAt = -Infinity;
  /** Frames sent to any encoder (the still watch's count) when the current one started. */
  #encoderFrom = 0;
  /** Runs with each picture drawn (the preview takes a copy); default none. */
  onPicture: ((picture: Picture) => void) | null = null;

  constructor(options: ProgramOutputOptions, scene: Scene) {
    super(options.logger);
    this.kind = options.kind;
    this.width = options.width;
    this.height = options.height;
    this.#options = options;
    this.#logger = options.logger;
    this.#scene = scene;
    this.#slots = Array.from({ length: VIDEO_SLOTS }, () => this.#newSlot());
  }

  #newSlot(): VideoSlot {
    const slot: VideoSlot = {
      picture: allocPicture(this.width, this.height),
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
  }

  get scene(): Scene {
    return this.#scene;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get encoderId(): string | null {
    return this.#encoder?.id ?? null;
  }

  /** The next picture drawn shows `scene` (nothing is redrawn when it draws the same). */
  setScene(scene: Scene): void {
    if (sameScene(scene, this.#scene)) return;
    this.#scene = scene;
    this.#sceneVersion += 1;
  }

  /** Starts the encoder (once; after a crash it restarts by itself). */
  start(): void {
    if (this.#closed || this.#encoder) return;
    this.#startEncoder();
  }

  /** Replaces a hung encoder (it produces nothing): handled as a crash. */
  restartEncoder(reason: Error): void {
    this.#ended?.(reason);
  }

  /**
   * One tick of the program clock: draws the picture and hands it and `audio` to the encoder.
   * Returns false when the tick was dropped (no encoder, or it cannot keep up).
   */
  tick(now: number, audio: AudioSlot): boolean {
    const encoder = this.#encoder;
    if (this.#closed || !encoder || encoder.videoBacklog > MAX_QUEUED_PICTURES * (this.#slots[0]?.picture.data.length ?? 0)) {
      this.#dropped += 1;
      return false;
    }
    let slot = this.#slots.find((s) => s.pending === 0) ?? null;
    if (!slot && this.#slots.length < this.#options.maxTicksInFlight) {
      slot = this.#newSlot();
      this.#slots.push(slot);
    }
    let changed = false;
    if (slot) {
      changed = this.#draw(slot, now);
      this.onPicture?.(slot.picture);
    } else {
      slot = this.#lastSlot;
      this.#repeated += 1;
    }
    if (!slot) return false;
    this.#still.frame(changed, this.#arrivedSince(this.#sentAt));
    this.#sentAt = now;
    this.#lastSlot = slot;
    slot.pending += 1;
    audio.pending += 1;
    encoder.writeVideo(slot.picture.data, slot.done);
    encoder.writeAudio(audio.bytes, audio.done);
    return true;
  }

  stats(): OutputStats {
    const encoder = this.#encoder;
    return {
      kind: this.kind,
      width: this.width,
      height: this.height,
      repeatedFrames: this.#repeated,
      droppedFrames: this.#dropped,
      encoderStarts: this.#encoderStarts,
      encoderCrashes: this.#encoderCrashes,
      encoderPid: encoder?.pid ?? null,
      encoderId: encoder?.id ?? null,
      encoderStartupMs: encoder?.firstVideoAt != null ? Math.round(encoder.firstVideoAt - encoder.startedAt) : null,
      sceneVersion: this.#sceneVersion,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.cancel();
    this.removeAllListeners();
    this.onPicture = null;
    this.#still.flush();
    const encoder = this.#encoder;
    this.#encoder = null;
    await encoder?.close();
  }

  #startEncoder(): void {
    if (this.#closed) return;
    this.#encoderSeq += 1;
    this.#encoderStarts += 1;
    const o = this.#options;
    const encoder = Encoder.start({
      id: `${o.id}-e${this.#encoderSeq}`,
      width: this.width,
      height: this.height,
      resolution: o.resolution,
      ffmpegPath: o.ffmpegPath,
      logger: this.#logger,
      ...(o.codecArgs ? { codecArgs: o.codecArgs } : {}),
    });
    this.#encoder = encoder;
    this.#encoderFrom = this.#still.frames;
    // A new encoder starts from a clean picture: every slot is redrawn.
    for (const slot of this.#slots) slot.sceneVersion = 0;
    this.emit('encoder', encoder.id);
    encoder.on('tag', (tag) => {
      this.#failuresInARow = 0;
      this.emit('tag', encoder.id, tag);
    });
    const ended = (error: Error): void => {
      if (this.#encoder !== encoder) return;
      this.#encoder = null;
      this.#encoderCrashes += 1;
      this.#failuresInARow += 1;
      void encoder.close();
      this.#logger.warn({ err: error, output: this.kind }, 'encoder ended; starting another');
      this.emit('encodercrash', error);
      const delay = this.#failuresInARow <= 1 ? 0 : Math.min(10_000, 500 * 2 ** Math.min(this.#failuresInARow - 2, 5));
      this.#retry = o.clock.setTimeout(() => this.#startEncoder(), delay);
    };
    this.#ended = ended;
    encoder.on('failed', ended);
    encoder.on('died', ended);
  }

  /** Whether an on-air tile's source delivered a picture after `since`. */
  #arrivedSince(since: number): boolean {
    for (const tile of this.#scene.tiles) {
      if (tile.video && (this.#options.source(tile.video.producerId)?.lastFrameAt ?? -Infinity) > since) return true;
    }
    return false;
  }

  #reportStill(run: StillRun): void {
    const seconds = run.frames / OUTPUT_FPS;
    // Where it starts among the current encoder's frames (ms at 30 a second; the e2e tests place it on a recording from there).
    const encoderMs = Math.round(((run.fromFrame - this.#encoderFrom) * 1000) / OUTPUT_FPS);
    const fields = { output: this.kind, encoder: this.#encoder?.id ?? null, encoderMs, fromFrame: run.fromFrame, frames: run.frames, seconds: Number(seconds.toFixed(3)), arrivals: run.arrivals };
    const msg = run.arrivals === 0 ? 'the program stood still: no on-air source sent a picture' : 'the program stood still while its sources sent pictures';
    if (seconds * 1000 > MAX_FREEZE_MS) this.#logger.warn(fields, msg);
    else this.#logger.debug(fields, msg);
  }

  /** Draws the scene into `slot`; true when the picture differs from the frame drawn before it. */
  #draw(slot: VideoSlot, now: number): boolean {
    const scene = this.#scene;
    let changed = this.#drawnScene !== this.#sceneVersion;
    if (changed) {
      this.#drawnScene = this.#sceneVersion;
      this.#drawnKeys.length = scene.tiles.length;
      this.#drawnKeys.fill(-1);
    }
    const stills = this.#options.stills;
    const picture = slot.picture;
    const W = this.width;
    const H = this.height;
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
      const still = stills.text(scene.slate, W, H, { background: SLATE_BG, fontSize: Math.round(Math.min(W, H) / 12), align: 'center' });
      const key = still?.key ?? 0;
      if (slot.slateKey !== key) {
        if (still) copyInto(picture, { x: 0, y: 0, w: W, h: H }, still.image);
        else fillRect(picture, { x: 0, y: 0, w: W, h: H }, rgbToYuv(Number(SLATE_BG)));
        slot.slateKey = key;
      }
    }
    scene.tiles.forEach((tile, i) => {
      const source = tile.video ? this.#options.source(tile.video.producerId) : undefined;
      const live = source && tile.video && !tile.video.paused && source.picture && now - source.lastFrameAt < STALL_MS ? source : null;
      const { rect } = tile;
      if (live && live.picture) {
        if (this.#drawnKeys[i] !== live.frameKey) {
          this.#drawnKeys[i] = live.frameKey;
          changed = true;
        }
        if (slot.tileKeys[i] === live.frameKey) return;
        copyInto(picture, rect, live.picture);
        if (tile.label) {
          const size = Math.max(14, Math.round(Math.min(rect.h, (rect.w * 9) / 16) / 16));
          const margin = Math.max(4, Math.round(size / 2) * 2);
          // Inside the picture, not on a letterbox bar.
          const shownW = Math.min(live.picture.width, rect.w);
          const shownH = Math.min(live.picture.height, rect.h);
          const left = rect.x + Math.floor((rect.w - shownW) / 4) * 2;
          const bottom = rect.y + Math.floor((rect.h - shownH) / 4) * 2 + shownH;
          const label = stills.label(tile.label, size, shownW - 2 * margin);
          if (label) blendOverlay(picture, label.image, left + margin, bottom - margin - label.image.height);
        }
        slot.tileKeys[i] = live.frameKey;
        return;
      }
      const name = stills.text(tile.name, rect.w, rect.h, { background: TILE_BG, fontSize: Math.max(16, Math.round(Math.min(rect.h, rect.w) / 9)), align: 'center' });
      const key = name?.key ?? 0;
      if (this.#drawnKeys[i] !== key) {
        this.#drawnKeys[i] = key;
        changed = true;
      }
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
      const still = stills.text(band.text, band.band.w, band.band.h, { background, fontSize: Math.round(band.band.h * 0.5), align: 'left' });
      const key = still?.key ?? 0;
      if (slot.bandKeys[i] === key) return;
      if (still) copyInto(picture, band.band, still.image);
      else fillRect(picture, band.band, rgbToYuv(Number(background)));
      slot.bandKeys[i] = key;
    });
    if (logo) blendOverlay(picture, logo.image, logo.rect.x, logo.rect.y);
    return changed;
  }
}
