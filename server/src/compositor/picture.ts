/**
 * Raw YUV 4:2:0 pictures (the program frame, decoded tiles, name tiles) and the few operations the
 * compositor needs on them: fill a rectangle, copy a picture into a rectangle, blend an overlay.
 * Every operation writes into memory allocated beforehand; none allocates per frame.
 */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One planar yuv420p picture in one buffer: Y (w×h), then U and V (w/2 × h/2). */
export interface Picture {
  width: number;
  height: number;
  data: Buffer;
}

export interface Yuv {
  y: number;
  u: number;
  v: number;
}

/** A picture with per-pixel opacity (a: w×h, full resolution), blended over the program. */
export interface Overlay {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
  a: Uint8Array;
}

export const BLACK: Yuv = { y: 16, u: 128, v: 128 };

/** RGB hex (0xRRGGBB) to limited-range BT.601 YUV, as ffmpeg's yuv420p uses by default. */
export function rgbToYuv(rgb: number): Yuv {
  const r = (rgb >> 16) & 0xff;
  const g = (rgb >> 8) & 0xff;
  const b = rgb & 0xff;
  const y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  const u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
  const v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
  return { y: Math.round(y), u: Math.round(u), v: Math.round(v) };
}

export function pictureBytes(width: number, height: number): number {
  return width * height + 2 * (width / 2) * (height / 2);
}

/**
 * A picture of `color`; `null` leaves its bytes unset, for one that is written whole before it is
 * read (a decoder's queue slot: filling a new 1280x720 decoder's 16 slots black took 30 ms of Node's
 * CPU in a layout switch's first second, bench/scratch/prof.ts).
 */
export function allocPicture(width: number, height: number, color: Yuv | null = BLACK): Picture {
  if (width % 2 || height % 2 || width <= 0 || height <= 0) throw new Error(`picture size must be even and positive: ${width}x${height}`);
  const picture = { width, height, data: Buffer.allocUnsafe(pictureBytes(width, height)) };
  if (color) fillRect(picture, { x: 0, y: 0, w: width, h: height }, color);
  return picture;
}

/** Fills `rect` (even coordinates, clipped to the picture) with one colour. */
export function fillRect(dst: Picture, rect: Rect, color: Yuv): void {
  const r = clip(rect, dst.width, dst.height);
  if (!r) return;
  const { width: W, height: H, data } = dst;
  for (let row = r.y; row < r.y + r.h; row += 1) data.fill(color.y, row * W + r.x, row * W + r.x + r.w);
  const cw = W / 2;
  const uBase = W * H;
  const vBase = uBase + cw * (H / 2);
  for (let row = r.y / 2; row < (r.y + r.h) / 2; row += 1) {
    const start = row * cw + r.x / 2;
    data.fill(color.u, uBase + start, uBase + start + r.w / 2);
    data.fill(color.v, vBase + start, vBase + start + r.w / 2);
  }
}

/**
 * Copies `src` into `rect` of `dst`. A source of another size than the rectangle (a decoder still
 * at the previous tile size, a simulcast layer switch) is centred: cropped where larger, the rest
 * of the rectangle filled with `background` where smaller.
 */
export function copyInto(dst: Picture, rect: Rect, src: Picture, background: Yuv = BLACK): void {
  const r = clip(rect, dst.width, dst.height);
  if (!r) return;
  if (src.width < r.w || src.height < r.h) fillRect(dst, r, background);
  const w = Math.min(src.width, r.w);
  const h = Math.min(src.height, r.h);
  const sx = even((src.width - w) / 2);
  const sy = even((src.height - h) / 2);
  const dx = r.x + even((r.w - w) / 2);
  const dy = r.y + even((r.h - h) / 2);
  copyPlane(dst.data, 0, dst.width, dx, dy, src.data, 0, src.width, sx, sy, w, h);
  const dcw = dst.width / 2;
  const scw = src.width / 2;
  const dU = dst.width * dst.height;
  const sU = src.width * src.height;
  const dV = dU + dcw * (dst.height / 2);
  const sV = sU + scw * (src.height / 2);
  copyPlane(dst.data, dU, dcw, dx / 2, dy / 2, src.data, sU, scw, sx / 2, sy / 2, w / 2, h / 2);
  copyPlane(dst.data, dV, dcw, dx / 2, dy / 2, src.data, sV, scw, sx / 2, sy / 2, w / 2, h / 2);
}

function copyPlane(
  dst: Buffer, dBase: number, dStride: number, dx: number, dy: number,
  src: Buffer, sBase: number, sStride: number, sx: number, sy: number,
  w: number, h: number,
): void {
  for (let row = 0; row < h; row += 1) {
    const s = sBase + (sy + row) * sStride + sx;
    src.copy(dst, dBase + (dy + row) * dStride + dx, s, s + w);
  }
}

/** Blends `overlay` at (x, y) (even) over `dst`; chroma takes the opacity of each 2×2 block's top-left pixel. */
export function blendOverlay(dst: Picture, overlay: Overlay, x: number, y: number): void {
  const W = dst.width;
  const H = dst.height;
  const w = Math.min(overlay.width, W - x);
  const h = Math.min(overlay.height, H - y);
  if (w <= 0 || h <= 0 || x < 0 || y < 0) return;
  const data = dst.data;
  const ow = overlay.width;
  const { a, y: oy, u: ou, v: ov } = overlay;
  for (let row = 0; row < h; row += 1) {
    const d = (y + row) * W + x;
    const o = row * ow;
    for (let col = 0; col < w; col += 1) {
      const alpha = a[o + col] ?? 0;
      if (alpha === 0) continue;
      data[d + col] = alpha === 255 ? (oy[o + col] ?? 0) : mix(data[d + col] ?? 0, oy[o + col] ?? 0, alpha);
    }
  }
  const cw = W / 2;
  const ocw = ow / 2;
  const uBase = W * H;
  const vBase = uBase + cw * (H / 2);
  for (let row = 0; row < h / 2; row += 1) {
    const d = (y / 2 + row) * cw + x / 2;
    const o = row * ocw;
    const ao = 2 * row * ow;
    for (let col = 0; col < w / 2; col += 1) {
      const alpha = a[ao + 2 * col] ?? 0;
      if (alpha === 0) continue;
      data[uBase + d + col] = mix(data[uBase + d + col] ?? 0, ou[o + col] ?? 0, alpha);
      data[vBase + d + col] = mix(data[vBase + d + col] ?? 0, ov[o + col] ?? 0, alpha);
    }
  }
}

function mix(under: number, over: number, alpha: number): number {
  return (over * alpha + under * (255 - alpha) + 127) / 255 | 0;
}

const even = (n: number): number => Math.floor(n / 2) * 2;

function clip(rect: Rect, width: number, height: number): Rect | null {
  const x = Math.max(0, even(rect.x));
  const y = Math.max(0, even(rect.y));
  const w = Math.min(width, even(rect.x + rect.w)) - x;
  const h = Math.min(height, even(rect.y + rect.h)) - y;
  return w > 0 && h > 0 ? { x, y, w: even(w), h: even(h) } : null;
}

export function intersects(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
