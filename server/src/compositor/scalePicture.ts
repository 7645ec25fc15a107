import type { Picture } from './picture.js';

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

function table(dst: number, src: number): Int32Array {
  const t = new Int32Array(dst);
  for (let i = 0; i < dst; i += 1) t[i] = Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst));
  return t;
}

export function scaleMap(src: { width: number; height: number }, dst: { width: number; height: number }): ScaleMap {
  return {
    srcWidth: src.width,
    srcHeight: src.height,
    dstWidth: dst.width,
    dstHeight: dst.height,
    xs: table(dst.width, src.width),
    ys: table(dst.height, src.height),
    cxs: table(dst.width / 2, src.width / 2),
    cys: table(dst.height / 2, src.height / 2),
  };
}

/**
 * Scales `src` into `dst` (both yuv420p, the map made for their sizes), nearest sample. Used when a
 * tile shrinks (a layout switch): the running decoder's larger picture is scaled here for a
 * fraction of a millisecond instead of starting another decoder at the new size.
 */
export function scalePicture(dst: Picture, src: Picture, map: ScaleMap): void {
  const s = src.data;
  const d = dst.data;
  const { xs, ys, cxs, cys } = map;
  const sw = src.width;
  const dw = dst.width;
  for (let y = 0; y < dst.height; y += 1) {
    const sRow = ys[y]! * sw;
    const dRow = y * dw;
    for (let x = 0; x < dw; x += 1) d[dRow + x] = s[sRow + xs[x]!]!;
  }
  const scw = sw / 2;
  const dcw = dw / 2;
  const sU = sw * src.height;
  const dU = dw * dst.height;
  const sV = sU + scw * (src.height / 2);
  const dV = dU + dcw * (dst.height / 2);
  for (let y = 0; y < dst.height / 2; y += 1) {
    const sRow = cys[y]! * scw;
    const dRow = y * dcw;
    for (let x = 0; x < dcw; x += 1) {
      const sx = sRow + cxs[x]!;
      d[dU + dRow + x] = s[sU + sx]!;
      d[dV + dRow + x] = s[sV + sx]!;
    }
  }
}
