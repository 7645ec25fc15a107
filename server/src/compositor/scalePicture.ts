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
}

/** Destination index → source index inside [start, start + src), nearest sample. */
function table(dst: number, src: number, start = 0): Int32Array {
  const t = new Int32Array(dst);
  for (let i = 0; i < dst; i += 1) t[i] = start + Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst));
  return t;
}

/** The map from `src` (or the window `from` of it, even coordinates; default all of it) to `dst`. */
export function scaleMap(src: { width: number; height: number }, dst: { width: number; height: number }, from?: Rect): ScaleMap {
  const w = from ?? { x: 0, y: 0, w: src.width, h: src.height };
  return {
    srcWidth: src.width,
    srcHeight: src.height,
    dstWidth: dst.width,
    dstHeight: dst.height,
    xs: table(dst.width, w.w, w.x),
    ys: table(dst.height, w.h, w.y),
    cxs: table(dst.width / 2, w.w / 2, w.x / 2),
    cys: table(dst.height / 2, w.h / 2, w.y / 2),
  };
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
  const { xs, ys, cxs, cys } = map;
  const sw = src.width;
  const dw = dst.width;
  for (let y = 0; y < dst.height; y += 1) {
    const dRow = y * dw;
    if (y > 0 && ys[y] === ys[y - 1]) {
      d.copyWithin(dRow, dRow - dw, dRow);
      continue;
    }
    const sRow = ys[y]! * sw;
    for (let x = 0; x < dw; x += 1) d[dRow + x] = s[sRow + xs[x]!]!;
  }
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
    for (let x = 0; x < dcw; x += 1) {
      const sx = sRow + cxs[x]!;
      d[dU + dRow + x] = s[sU + sx]!;
      d[dV + dRow + x] = s[sV + sx]!;
    }
  }
}
