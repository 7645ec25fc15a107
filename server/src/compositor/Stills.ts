import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { monotonicClock, type Clock } from '../media/clock.js';
import { makeFifo } from '../media/fifo.js';
import { spawnChild } from '../media/spawnChild.js';
import { WarmPool, writeFifo } from '../media/WarmPool.js';
import type { Overlay, Picture } from './picture.js';

/** Font for names and titles; without it, name tiles and bands are drawn without text. */
export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export interface Still<T> {
  /** Unique per rendered still: the compositor redraws a tile when its content's key changes. */
  key: number;
  image: T;
}

export interface StillsOptions {
  ffmpegPath: string;
  logger: Logger;
  fontFile?: string;
  /** Renderers kept started ahead (WarmPool); default SPARE_RENDERERS, 0 starts one per still. */
  spares?: number;
  clock?: Clock;
}

/** A join renders a name tile and a label (two batches), a switch to speaker its labels (one or two): four cover a join and a switch… */
const SPARE_RENDERERS = 4;
/** …and are replaced once nothing was rendered for this long. */
const SPARE_REFILL_AFTER_MS = 10_000;
const RENDER_TIMEOUT_MS = 10_000;

/** Rendered stills kept; the oldest are forgotten first. */
const MAX_CACHED = 96;
const SAFE_PATH = /^[\w/.+-]+$/;

let nextKey = 1;
/** Keys for content drawn by the compositor (pictures from decoders, rendered stills); never 0. */
export function newContentKey(): number {
  nextKey += 1;
  return nextKey;
}

/**
 * Text rendered once into raw pictures by ffmpeg's drawtext (name tiles, the title and lower-third
 * bands, the slate, labels with their translucent box), cached, so the per-frame work is a copy.
 * A still that is not rendered yet returns null (the compositor draws its background meanwhile);
 * renders run one at a time so they never compete with the encoder for more than one core.
 */
export class Stills {
  readonly #ffmpegPath: string;
  readonly #logger: Logger;
  readonly #fontFile: string | null;
  readonly #dir: string;
  readonly #cache = new Map<string, Still<unknown> | null>();
  #queue: Promise<void> = Promise.resolve();
  #seq = 0;
  #closed = false;
  readonly #spares: WarmPool<StillSpare> | null;
  /** Renders asked for since the last batch started. */
  #pending: Array<() => Promise<void>> = [];
  /** The batch being gathered while the pending renders start. */
  #batch: BatchItem[] | null = null;

  constructor(options: StillsOptions) {
    this.#ffmpegPath = options.ffmpegPath;
    this.#logger = options.logger;
    const font = options.fontFile ?? DEFAULT_FONT_FILE;
    this.#fontFile = existsSync(font) && SAFE_PATH.test(font) ? font : null;
    this.#dir = mkdtempSync(join(tmpdir(), 'onair-stills-'));
    const spares = options.spares ?? SPARE_RENDERERS;
    this.#spares =
      spares > 0
        ? new WarmPool({
            size: spares,
            refillAfterMs: SPARE_REFILL_AFTER_MS,
            start: () => StillSpare.start(this.#ffmpegPath, join(this.#dir, `spare-${(this.#seq += 1)}.fifo`)),
            usable: (spare) => spare.usable,
            discard: (spare) => spare.close(),
            clock: options.clock ?? monotonicClock,
            logger: options.logger,
          })
        : null;
  }

  /** An opaque picture: `text` centred (or at the left) on a background colour. */
  text(
    text: string,
    width: number,
    height: number,
    style: { background: string; fontSize: number; align: 'center' | 'left' },
  ): Still<Picture> | null {
    const key = `t|${width}x${height}|${style.background}|${style.fontSize}|${style.align}|${text}`;
    const x = style.align === 'center' ? '(w-tw)/2' : String(Math.round(style.fontSize * 0.8));
    return this.#get(key, async () => {
      const draw = this.#drawtext(text, `fontsize=${style.fontSize}:fontcolor=white:x=${x}:y=(h-th)/2`);
      const data = await this.#render(`color=c=${style.background}:s=${width}x${height}:r=1${draw}`, width, height);
      return { width, height, data };
    }) as Still<Picture> | null;
  }

  /** A name label: white text on a black box at 55 % opacity, cropped to the box. */
  label(text: string, fontSize: number, maxWidth: number): Still<Overlay> | null {
    const key = `l|${fontSize}|${maxWidth}|${text}`;
    return this.#get(key, async () => {
      const border = Math.round(fontSize / 3);
      const width = Math.max(2, Math.floor(maxWidth / 2) * 2);
      const height = Math.floor((fontSize * 1.6 + 2 * border) / 2) * 2 + 2;
      // Rendered opaque: black outside, a mid-grey box, white text; the opacity is derived from the grey levels.
      const draw = this.#drawtext(text, `fontsize=${fontSize}:fontcolor=white:x=${border}:y=${border}:box=1:boxcolor=0x808080:boxborderw=${border}`);
      const data = await this.#render(`color=c=black:s=${width}x${height}:r=1${draw}`, width, height);
      return labelOverlay(data, width, height);
    }) as Still<Overlay> | null;
  }

  close(): void {
    this.#closed = true;
    this.#spares?.close();
    this.#cache.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #drawtext(text: string, style: string): string {
    if (this.#fontFile === null) return '';
    this.#seq += 1;
    const path = join(this.#dir, `text-${this.#seq}.txt`);
    writeFileSync(path, text);
    return `,drawtext=fontfile=${this.#fontFile}:textfile=${path}:expansion=none:${style}`;
  }

  #get<T extends Picture | Overlay>(key: string, render: () => Promise<T>): Still<T> | null {
    if (this.#cache.has(key)) {
      const hit = this.#cache.get(key) as Still<T> | null;
      // Most recently used last.
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    this.#cache.set(key, null);
    while (this.#cache.size > MAX_CACHED) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
    this.#pending.push(async () => {
      if (this.#closed || !this.#cache.has(key)) return;
      try {
        const image = await render();
        if (!this.#closed && this.#cache.has(key)) this.#cache.set(key, { key: newContentKey(), image });
      } catch (error) {
        // A render in flight when the program closed finds its text file gone: nothing to report.
        if (!this.#closed) this.#logger.warn({ err: error }, 'rendering a still failed');
      }
    });
    if (this.#pending.length === 1) this.#queue = this.#queue.then(() => this.#drain());
    return null;
  }

  /**
   * Renders what is pending, one ffmpeg for all the stills asked for meanwhile (a layout switch asks
   * for a label per tile at once): each starts its render, whose picture joins the batch; then the batch runs.
   */
  async #drain(): Promise<void> {
    while (this.#pending.length > 0 && !this.#closed) {
      const renders = this.#pending.splice(0);
      const batch: BatchItem[] = [];
      this.#batch = batch;
      const done = renders.map((render) => render());
      this.#batch = null;
      await this.#renderBatch(batch);
      await Promise.all(done);
    }
  }

  #render(source: string, width: number, height: number): Promise<Buffer> {
    const batch = this.#batch;
    if (batch) return new Promise((resolve, reject) => batch.push({ source, width, height, resolve, reject }));
    return this.#renderOne(source, width, height);
  }

  /** One picture for the whole batch: each still padded to the widest and stacked, then cut apart here. */
  async #renderBatch(batch: BatchItem[]): Promise<void> {
    const stackable = batch.length > 1 && batch.every((b) => b.width % 2 === 0 && b.height % 2 === 0);
    if (!stackable) {
      for (const item of batch) await this.#renderOne(item.source, item.width, item.height).then(item.resolve, item.reject);
      return;
    }
    const width = Math.max(...batch.map((b) => b.width));
    const height = batch.reduce((sum, b) => sum + b.height, 0);
    const graph = `${batch.map((b, i) => `${b.source},pad=${width}:${b.height}:0:0:black,format=yuv420p[s${i}]`).join(';')};${batch.map((_, i) => `[s${i}]`).join('')}vstack=inputs=${batch.length}`;
    try {
      const data = await this.#renderOne(graph, width, height);
      let top = 0;
      for (const item of batch) {
        item.resolve(cutPicture(data, width, height, top, item.width, item.height));
        top += item.height;
      }
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }

  async #renderOne(source: string, width: number, height: number): Promise<Buffer> {
    const bytes = (width * height * 3) / 2;
    const spare = this.#spares?.take();
    if (spare) {
      const out = await spare.render(source).catch(() => null);
      if (out && out.length === bytes) return out;
      if (out) throw new Error(`still has ${out.length} bytes, expected ${bytes}`);
      // The spare was gone: rendered the usual way.
    }
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', source, ...STILL_OUTPUT];
    return new Promise((resolve, reject) => {
      execFile(this.#ffmpegPath, args, { encoding: 'buffer', maxBuffer: bytes + 1024, timeout: 10_000 }, (error, stdout) => {
        if (error) reject(error);
        else if (stdout.length !== bytes) reject(new Error(`still has ${stdout.length} bytes, expected ${bytes}`));
        else resolve(stdout);
      });
    });
  }
}

interface BatchItem {
  source: string;
  width: number;
  height: number;
  resolve: (data: Buffer) => void;
  reject: (error: unknown) => void;
}

/** The yuv420p picture at rows top… of a stacked one (its planes cut row by row). */
function cutPicture(data: Buffer, stackW: number, stackH: number, top: number, w: number, h: number): Buffer {
  const out = Buffer.allocUnsafe((w * h * 3) / 2);
  let o = 0;
  for (let y = 0; y < h; y += 1, o += w) data.copy(out, o, (top + y) * stackW, (top + y) * stackW + w);
  const cw = w / 2;
  const sw = stackW / 2;
  for (const plane of [stackW * stackH, stackW * stackH + (stackW * stackH) / 4]) {
    for (let y = 0; y < h / 2; y += 1, o += cw) data.copy(out, o, plane + (top / 2 + y) * sw, plane + (top / 2 + y) * sw + cw);
  }
  return out;
}

const STILL_OUTPUT = ['-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'];

/**
 * A still renderer started ahead (WarmPool): ffmpeg's lavfi input reads its filter graph from
 * `graph_file`, a FIFO, so the process blocks there after its start-up until `render` writes it.
 */
class StillSpare {
  readonly #child: ChildProcess;
  readonly #fifo: string;
  readonly #chunks: Buffer[] = [];
  readonly #exit: Promise<number | null>;
  #exited = false;
  #used = false;

  private constructor(child: ChildProcess, fifo: string) {
    this.#child = child;
    this.#fifo = fifo;
    child.stdout?.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    child.stdout?.on('error', () => undefined);
    child.stderr?.resume();
    this.#exit = new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('close', (code) => resolve(code));
    }).then((code) => {
      this.#exited = true;
      return code;
    });
  }

  static async start(ffmpegPath: string, fifo: string): Promise<StillSpare> {
    await makeFifo(fifo);
    const child = spawnChild(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-graph_file', fifo, '-i', 'still', ...STILL_OUTPUT], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new StillSpare(child, fifo);
  }

  get usable(): boolean {
    return !this.#used && !this.#exited;
  }

  /** The still's bytes; rejects when the spare had ended. */
  async render(graph: string): Promise<Buffer> {
    this.#used = true;
    if (!writeFifo(this.#fifo, graph)) {
      this.close();
      throw new Error('the spare renderer had ended');
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), RENDER_TIMEOUT_MS);
    const code = await this.#exit;
    clearTimeout(timer);
    rmSync(this.#fifo, { force: true });
    if (code !== 0) throw new Error(`ffmpeg exited (code ${code})`);
    return Buffer.concat(this.#chunks);
  }

  close(): void {
    this.#used = true;
    if (!this.#exited) this.#child.kill('SIGKILL');
    rmSync(this.#fifo, { force: true });
  }
}

/** Black → transparent; the grey box → black at 55 %; text (brighter) → white, opaque at full coverage. Cropped to the box. */
function labelOverlay(data: Buffer, width: number, height: number): Overlay {
  const BOX = 126;
  const WHITE = 235;
  const BOX_ALPHA = 140;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if ((data[y * width + x] ?? 0) > 40) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { width: 2, height: 2, y: new Uint8Array(4), u: new Uint8Array(1), v: new Uint8Array(1), a: new Uint8Array(4) };
  x0 = Math.floor(x0 / 2) * 2;
  y0 = Math.floor(y0 / 2) * 2;
  const w = Math.min(width - x0, Math.ceil((x1 - x0 + 1) / 2) * 2);
  const h = Math.min(height - y0, Math.ceil((y1 - y0 + 1) / 2) * 2);
  const out: Overlay = { width: w, height: h, y: new Uint8Array(w * h), u: new Uint8Array((w * h) / 4).fill(128), v: new Uint8Array((w * h) / 4).fill(128), a: new Uint8Array(w * h) };
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      const value = data[(y0 + y) * width + x0 + x] ?? 16;
      const i = y * w + x;
      if (value <= 40) continue;
      const coverage = Math.max(0, Math.min(1, (value - BOX) / (WHITE - BOX)));
      out.a[i] = Math.round(BOX_ALPHA + coverage * (255 - BOX_ALPHA));
      // Colour such that blending at that opacity gives box black under the text's coverage.
      const alpha = (out.a[i] ?? 255) / 255;
      out.y[i] = Math.round((16 * (BOX_ALPHA / 255) * (1 - coverage) + WHITE * coverage) / alpha);
    }
  }
  return out;
}
