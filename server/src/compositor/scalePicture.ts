import { endianness } from 'node:os';
import type { Picture, Rect } from './picture.js';

/** Which source column / row each destination column / row samples (one table per size pair, made once). */
export interface ScaleMap {
  srcWidth: number;
  srcHeight: number;
  dstWidth: number;
  dstHeight: number;
  xs: Int32Array;
  ys: Int32Array;
  cxs: Int32Array;
  cys: Int32Array;
  /** Luma / chroma columns scaled a 32-bit word at a time (an exact 2× or ½ map), or null: sampled pixel by pixel. */
  wordX: WordScale | null;
  wordCx: WordScale | null;
}

/** An exact 2× (each source column twice) or ½ (every other one) column map, from the source column `x0`. */
export interface WordScale {
  ratio: 2 | 0.5;
  x0: number;
}

/** Destination index → source index inside [start, start + src), nearest sample. */
function table(dst: number, src: number, start = 0): Int32Array {
  const t = new Int32Array(dst);
  for (let i = 0; i < dst; i += 1) t[i] = start + Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst));
  return t;
}

/** Whether `t` doubles or halves the source columns, its length a multiple of 4 (whole 32-bit words). */
function wordScale(t: Int32Array): WordScale | null {
  if (!LITTLE_ENDIAN || t.length % 4 !== 0) return null;
  const step = (ratio: 2 | 0.5): boolean => t.every((v, i) => v === t[0]! + (ratio === 2 ? i >> 1 : 2 * i));
  if (step(2)) return { ratio: 2, x0: t[0]! };
  if (step(0.5)) return { ratio: 0.5, x0: t[0]! };
  return null;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** The map from `src` (or the window `from` of it, even coordinates; default all of it) to `dst`. */
export function scaleMap(src: { width: number; height: number }, dst: { width: number; height: number }, from?: Rect): ScaleMap {
  const w = from ?? { x: 0, y: 0, w: src.width, h: src.height };
  const xs = table(dst.width, w.w, w.x);
  const cxs = table(dst.width / 2, w.w / 2, w.x / 2);
  return {
    srcWidth: src.width,
    srcHeight: src.height,
    dstWidth: dst.width,
    dstHeight: dst.height,
    xs,
    ys: table(dst.height, w.h, w.y),
    cxs,
    cys: table(dst.height / 2, w.h / 2, w.y / 2),
    wordX: wordScale(xs),
    wordCx: wordScale(cxs),
  };
}

/**
 * One source row (from `sRow`) scaled by `ratio` into the destination row at byte `dRow` (a multiple
 * of 4), one 32-bit word of four output bytes per store and no table read. Written for the pictures
 * a layout switch scales (grid → speaker: the old 640x360 picture up to 1280x720 until the new
 * decoder takes over, the others down to 320x180): sampled a pixel at a time they took a third of
 * Node's CPU in the switch's first second (bench/scratch/prof.ts); the 2× row here runs 3.4× faster.
 */
function wordRow(d32: Uint32Array, dRow: number, s: Buffer, sRow: number, dw: number, ratio: 2 | 0.5): void {
  const o = dRow >> 2;
  const n = dw >> 2;
  if (ratio === 2) {
    for (let k = 0, p = sRow; k < n; k += 1, p += 2) {
      const a = s[p]!;
      const b = s[p + 1]!;
      d32[o + k] = a | (a << 8) | (b << 16) | (b << 24);
    }
    return;
  }
  for (let k = 0, p = sRow; k < n; k += 1, p += 8) d32[o + k] = s[p]! | (s[p + 2]! << 8) | (s[p + 4]! << 16) | (s[p + 6]! << 24);
}

/** A 32-bit view of `data` when it starts on a word boundary, else null. */
function words(data: Buffer): Uint32Array | null {
  return data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2) : null;
}

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** The centred window of a `src`-sized picture with the tile's aspect ratio (what a filled tile shows: the rest is cropped). */
export function fillWindow(src: { width: number; height: number }, tile: { width: number; height: number }): Rect {
  if (src.width * tile.height > tile.width * src.height) {
    const w = Math.min(src.width, even((src.height * tile.width) / tile.height));
    return { x: Math.floor((src.width - w) / 4) * 2, y: 0, w, h: src.height };
  }
  const h = Math.min(src.height, even((src.width * tile.height) / tile.width));
  return { x: 0, y: Math.floor((src.height - h) / 4) * 2, w: src.width, h };
}

/** The largest size with the picture's aspect ratio inside the tile (a letterboxed tile: the rest is background). */
export function fitSize(src: { width: number; height: number }, tile: { width: number; height: number }): { width: number; height: number } {
  if (src.width * tile.height > tile.width * src.height) return { width: tile.width, height: Math.min(tile.height, even((tile.width * src.height) / src.width)) };
  return { width: Math.min(tile.width, even((tile.height * src.width) / src.height)), height: tile.height };
}

/**
 * Scales `src` into `dst` (both yuv420p, the map made for their sizes), nearest sample. Used when a
 * tile shrinks (a layout switch): the running decoder's larger picture is scaled here for a
 * fraction of a millisecond instead of starting another decoder at the new size; and for the
 * vertical program's tiles, cut from the 16:9 program's decoded pictures. A destination row that
 * samples the same source row as the one before (upscaling) is copied from it, not sampled again.
 */
export function scalePicture(dst: Picture, src: Picture, map: ScaleMap): void {
  const s = src.data;
  const d = dst.data;
  const { xs, ys } = map;
  const sw = src.width;
  const dw = dst.width;
  const d32 = map.wordX || map.wordCx ? words(d) : null;
  const wx = d32 ? map.wordX : null;
  for (let y = 0; y < dst.height; y += 1) {
    const dRow = y * dw;
    if (y > 0 && ys[y] === ys[y - 1]) {
      d.copyWithin(dRow, dRow - dw, dRow);
      continue;
    }
    const sRow = ys[y]! * sw;
    if (wx) wordRow(d32!, dRow, s, sRow + wx.x0, dw, wx.ratio);
    else for (let x = 0; x < dw; x += 1) d[dRow + x] = s[sRow + xs[x]!]!;
  }
  nearestChroma(dst, src, map, d32 && map.wordCx ? { d32, scale: map.wordCx } : null);
}

/** The chroma planes of `scalePicture` (nearest sample). */
function nearestChroma(dst: Picture, src: Picture, map: Pick<ScaleMap, 'cxs' | 'cys'>, word: { d32: Uint32Array; scale: WordScale } | null = null): void {
  const s = src.data;
  const d = dst.data;
  const { cxs, cys } = map;
  const sw = src.width;
  const dw = dst.width;
  const scw = sw / 2;
  const dcw = dw / 2;
  const sU = sw * src.height;
  const dU = dw * dst.height;
  const sV = sU + scw * (src.height / 2);
  const dV = dU + dcw * (dst.height / 2);
  for (let y = 0; y < dst.height / 2; y += 1) {
    const dRow = y * dcw;
    if (y > 0 && cys[y] === cys[y - 1]) {
      d.copyWithin(dU + dRow, dU + dRow - dcw, dU + dRow);
      d.copyWithin(dV + dRow, dV + dRow - dcw, dV + dRow);
      continue;
    }
    const sRow = cys[y]! * scw;
    if (word) {
      wordRow(word.d32, dU + dRow, s, sU + sRow + word.scale.x0, dcw, word.scale.ratio);
      wordRow(word.d32, dV + dRow, s, sV + sRow + word.scale.x0, dcw, word.scale.ratio);
      continue;
    }
    for (let x = 0; x < dcw; x += 1) {
      const sx = sRow + cxs[x]!;
      d[dU + dRow + x] = s[sU + sx]!;
      d[dV + dRow + x] = s[sV + sx]!;
    }
  }
}

/** Along one axis, per destination index: the first of the two source samples blended (inside the window; the second follows it) and the second one's weight in 1/256. */
interface Taps {
  i0: Int32Array;
  w: Int32Array;
  /** i0 << 9 | w, one load per destination pixel in the horizontal pass. */
  packed: Int32Array;
}

/** The blending map of `scaleBilinear`: taps per plane and axis, and two row buffers (made once per size pair). */
export interface BilinearMap {
  srcWidth: number;
  srcHeight: number;
  dstWidth: number;
  dstHeight: number;
  xs: Taps;
  ys: Taps;
  cxs: Taps;
  cys: Taps;
  /** Nearest-sample chroma tables, for `scaleBilinear(…, 'nearest')`. */
  nearest: Pick<ScaleMap, 'cxs' | 'cys'>;
  /** Source rows blended horizontally (scratch, the destination's width rounded up to 4), each with a 32-bit view. */
  rows: [Uint8Array, Uint8Array];
  words: [Uint32Array, Uint32Array];
}

/**
 * Destination index → the source sample at or left of its centre inside [start, start + src) and the
 * next one's weight, pixel centres aligned as ffmpeg's scalers do (or the nearest sample). The edge clamps to the window: the
 * last pair is (src - 2, src - 1) with weight up to 256, so no tap reads outside it.
 */
function taps(dst: number, src: number, start = 0, nearest = false): Taps {
  const t: Taps = { i0: new Int32Array(dst), w: new Int32Array(dst), packed: new Int32Array(dst) };
  for (let i = 0; i < dst; i += 1) {
    // Nearest: the sample under the centre, weight 0 (or 256 on the last one).
    const c = nearest ? Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst)) : Math.min(src - 1, Math.max(0, ((i + 0.5) * src) / dst - 0.5));
    const i0 = Math.max(0, Math.min(src - 2, Math.floor(c)));
    t.i0[i] = start + i0;
    t.w[i] = src < 2 ? 0 : Math.round((c - i0) * 256);
    t.packed[i] = (t.i0[i]! << 9) | t.w[i]!;
  }
  return t;
}

/**
 * The bilinear map from `src` (or the window `from` of it, even coordinates; default all of it) to
 * `dst`. `rows: 'nearest'` blends along rows only and repeats the nearest row (about 40 % of the
 * full blend's extra cost for most of its gain on the vertical tiles: bench/outputs.ts).
 */
export function bilinearMap(src: { width: number; height: number }, dst: { width: number; height: number }, from?: Rect, rows: 'bilinear' | 'nearest' = 'bilinear'): BilinearMap {
  const w = from ?? { x: 0, y: 0, w: src.width, h: src.height };
  const row = (): Uint8Array => new Uint8Array(Math.ceil(dst.width / 4) * 4);
  const buffers: [Uint8Array, Uint8Array] = [row(), row()];
  return {
    srcWidth: src.width,
    srcHeight: src.height,
    dstWidth: dst.width,
    dstHeight: dst.height,
    xs: taps(dst.width, w.w, w.x),
    ys: taps(dst.height, w.h, w.y, rows === 'nearest'),
    cxs: taps(dst.width / 2, w.w / 2, w.x / 2),
    cys: taps(dst.height / 2, w.h / 2, w.y / 2, rows === 'nearest'),
    nearest: { cxs: table(dst.width / 2, w.w / 2, w.x / 2), cys: table(dst.height / 2, w.h / 2, w.y / 2) },
    rows: buffers,
    words: [new Uint32Array(buffers[0].buffer), new Uint32Array(buffers[1].buffer)],
  };
}

/** One source row (at `base`) blended horizontally into `out` (8-bit, rounded). */
function blendRow(out: Uint8Array, s: Buffer, base: number, xs: Taps, width: number): void {
  const packed = xs.packed;
  for (let x = 0; x < width; x += 1) {
    const t = packed[x]!;
    const p = base + (t >> 9);
    const a = s[p]!;
    out[x] = ((a << 8) + (s[p + 1]! - a) * (t & 511) + 128) >> 8;
  }
}

const LANES = 0x00ff00ff;
const HALF = 0x00800080;

function bilinearPlane(d: Buffer, d32: Uint32Array | null, dBase: number, dw: number, dh: number, s: Buffer, sBase: number, sw: number, xs: Taps, ys: Taps, map: BilinearMap): void {
  let [a, b] = map.rows;
  let [a32, b32] = map.words;
  let aRow = -1;
  let bRow = -1;
  // Four pixels per 32-bit word where the destination rows are word-aligned (two 8-bit lanes per multiply, no carry between them).
  const words = d32 && dBase % 4 === 0 && dw % 4 === 0 ? dw / 4 : 0;
  for (let y = 0; y < dh; y += 1) {
    const r0 = ys.i0[y]!;
    const f = ys.w[y]!;
    if (aRow !== r0) {
      if (bRow === r0) {
        // One source row further down: the lower blended row becomes the upper one.
        [a, b, a32, b32, aRow, bRow] = [b, a, b32, a32, bRow, aRow];
      } else {
        blendRow(a, s, sBase + r0 * sw, xs, dw);
        aRow = r0;
      }
    }
    const out = dBase + y * dw;
    if (f === 0) {
      d.set(a.subarray(0, dw), out);
      continue;
    }
    if (bRow !== r0 + 1) {
      blendRow(b, s, sBase + (r0 + 1) * sw, xs, dw);
      bRow = r0 + 1;
    }
    const g = 256 - f;
    if (words > 0) {
      const o = out / 4;
      for (let x = 0; x < words; x += 1) {
        const p = a32[x]!;
        const q = b32[x]!;
        const lo = (((p & LANES) * g + (q & LANES) * f + HALF) >>> 8) & LANES;
        const hi = ((((p >>> 8) & LANES) * g + ((q >>> 8) & LANES) * f + HALF) >>> 8) & LANES;
        d32![o + x] = lo | (hi << 8);
      }
    } else {
      for (let x = 0; x < dw; x += 1) d[out + x] = (a[x]! * g + b[x]! * f + 128) >> 8;
    }
  }
}

/**
 * Scales `src` into `dst` (both yuv420p, the map made for their sizes) by bilinear interpolation:
 * two taps per axis, 8-bit weights, separable (each source row is blended horizontally once, then
 * pairs of those rows vertically, four pixels at a time). For tiles scaled up (the vertical program's
 * cuts of the 16:9 pictures), where nearest sample shows blocks. Written here rather than taken from
 * a library: the pictures are raw yuv420p buffers of this process, and the scalers on npm (sharp,
 * jimp, ...) take RGB(A) images or files and would convert or copy every picture.
 */
export function scaleBilinear(dst: Picture, src: Picture, map: BilinearMap, chroma: 'bilinear' | 'nearest' = 'bilinear'): void {
  const data = dst.data;
  const d32 = words(data);
  const sw = src.width;
  const dw = dst.width;
  bilinearPlane(data, d32, 0, dw, dst.height, src.data, 0, sw, map.xs, map.ys, map);
  if (chroma === 'nearest') {
    nearestChroma(dst, src, map.nearest);
    return;
  }
  const sU = sw * src.height;
  const dU = dw * dst.height;
  const sV = sU + (sw / 2) * (src.height / 2);
  const dV = dU + (dw / 2) * (dst.height / 2);
  bilinearPlane(data, d32, dU, dw / 2, dst.height / 2, src.data, sU, sw / 2, map.cxs, map.cys, map);
  bilinearPlane(data, d32, dV, dw / 2, dst.height / 2, src.data, sV, sw / 2, map.cxs, map.cys, map);
}
