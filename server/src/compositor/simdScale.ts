import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Picture } from './picture.js';
import type { BilinearMap } from './scalePicture.js';

/** Where the install puts the compiled kernel (scripts/build-wasm.mjs from server/wasm/scale.ts). */
export const SIMD_KERNEL_PATH = fileURLToPath(new URL('../../wasm/build/scale.wasm', import.meta.url));

interface Kernel {
  memory: WebAssembly.Memory;
  blendPlane(dst: number, dw: number, dh: number, src: number, rows: number, blocks: number, n: number): void;
  nearestPlane(dst: number, dw: number, dh: number, src: number, rows: number, blocks: number, n: number): void;
}

let kernel: Kernel | null | undefined;
let loadError: string | null = null;
let enabled = true;

/** Turns the kernel off (SharedTile scales in JavaScript) or back on: for the benchmark's before-and-after in one process. */
export function useSimdScaler(on: boolean): void {
  enabled = on;
}

/** The compiled kernel, or null (turned off, or not built: then `simdKernelError` says why and SharedTile scales in JavaScript). */
export function simdKernel(): Kernel | null {
  if (!enabled) return null;
  if (kernel !== undefined) return kernel;
  try {
    const module = new WebAssembly.Module(readFileSync(SIMD_KERNEL_PATH));
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: () => {
          throw new Error('the SIMD scaler aborted');
        },
      },
    });
    kernel = instance.exports as unknown as Kernel;
  } catch (error) {
    loadError = error instanceof Error ? error.message : String(error);
    kernel = null;
  }
  return kernel;
}

/** Why the kernel did not load (null once it has, or before the first try). */
export function simdKernelError(): string | null {
  return loadError;
}

/** One plane's tables in the kernel's layout (see server/wasm/scale.ts). */
interface PlaneTables {
  width: number;
  height: number;
  /** Per destination row, the source row's offset in bytes from the plane's start. */
  rows: Int32Array;
  /** Per block of sixteen destination pixels: 112 bytes (blended) or 32 (nearest). */
  blocks: Uint8Array;
  n: number;
}

/** A BilinearMap made with rows 'nearest', in the kernel's tables: luma blended along rows, chroma by nearest sample. */
export interface SimdMap {
  luma: PlaneTables;
  chroma: PlaneTables;
}

/** Room for the tables at the start of the kernel's memory; the picture and the tile follow. */
const TABLES_AT = 0;
const TABLES_BYTES = 64 * 1024;
/** Each table starts on a 16-byte boundary. */
const aligned = (bytes: number): number => (bytes + 15) & ~15;

const BLEND_BLOCK = 112;
const NEAREST_BLOCK = 32;

/** Block starts: every sixteenth pixel, the last one moved back to end at the row's end (it overlaps the one before). */
function blockStarts(width: number): number[] {
  const starts: number[] = [];
  for (let x = 0; x < width; x += 16) starts.push(Math.min(x, width - 16));
  return starts;
}

/**
 * The kernel's tables for `map` (made by bilinearMap(…, 'nearest') for a tile scaled up), or null
 * where the kernel cannot take it: rows blended too, a luma row under 32 pixels (its chroma rows under
 * 16), sixteen destination pixels whose taps span more than sixteen source bytes (a scale down), or
 * tables larger than the room kept for them (TABLES_BYTES).
 */
export function simdMap(map: BilinearMap): SimdMap | null {
  const dw = map.dstWidth;
  const dh = map.dstHeight;
  if (dw < 32 || dw % 2 !== 0 || dh % 2 !== 0) return null;
  // Rows blended too (a map made with rows 'bilinear'): the kernel only repeats the nearest row.
  if (map.ys.w.some((w) => w !== 0 && w !== 256)) return null;
  const lumaStarts = blockStarts(dw);
  const luma = new Uint8Array(lumaStarts.length * BLEND_BLOCK);
  const lv = new DataView(luma.buffer);
  for (const [k, x] of lumaStarts.entries()) {
    const o = k * BLEND_BLOCK;
    const first = map.xs.i0[x]!;
    lv.setInt32(o, x, true);
    lv.setInt32(o + 4, first, true);
    for (let j = 0; j < 16; j += 1) {
      const index = map.xs.i0[x + j]! - first;
      if (index < 0 || index + 1 > 15) return null;
      const w = map.xs.w[x + j]!;
      luma[o + 16 + j] = index;
      luma[o + 32 + j] = index + 1;
      lv.setUint16(o + 48 + j * 2, 256 - w, true);
      lv.setUint16(o + 80 + j * 2, w, true);
    }
  }
  const cw = dw / 2;
  const chromaStarts = blockStarts(cw);
  const chroma = new Uint8Array(chromaStarts.length * NEAREST_BLOCK);
  const cv = new DataView(chroma.buffer);
  const cxs = map.nearest.cxs;
  for (const [k, x] of chromaStarts.entries()) {
    const o = k * NEAREST_BLOCK;
    const first = cxs[x]!;
    cv.setInt32(o, x, true);
    cv.setInt32(o + 4, first, true);
    for (let j = 0; j < 16; j += 1) {
      const index = cxs[x + j]! - first;
      if (index < 0 || index > 15) return null;
      chroma[o + 16 + j] = index;
    }
  }
  const sw = map.srcWidth;
  // A nearest row's tap is (i0, weight 0), or (i0, 256) at the window's last row: the row below.
  const lumaRows = Int32Array.from(map.ys.i0, (i0, y) => (i0 + (map.ys.w[y]! >> 8)) * sw);
  const chromaRows = Int32Array.from(map.nearest.cys, (row) => row * (sw / 2));
  // They must fit the room scaleSimd gives them (a 1080x1920 tile's come to about 20 KB).
  if (aligned(lumaRows.byteLength) + aligned(luma.length) + aligned(chromaRows.byteLength) + aligned(chroma.length) > TABLES_BYTES) return null;
  return {
    luma: { width: dw, height: dh, rows: lumaRows, blocks: luma, n: lumaStarts.length },
    chroma: { width: cw, height: dh / 2, rows: chromaRows, blocks: chroma, n: chromaStarts.length },
  };
}

/** The kernel reads up to 16 bytes past a row's last tap. */
const PAD = 16;

/**
 * `src` scaled into `dst` through `m` (the same bytes as scaleBilinear(dst, src, map, 'nearest')):
 * the picture is copied into the kernel's memory, scaled there, and the tile copied out (two
 * memcpys of about 0.35 MB for a 360x640 tile).
 */
export function scaleSimd(k: Kernel, dst: Picture, src: Picture, m: SimdMap): void {
  const srcAt = TABLES_AT + TABLES_BYTES;
  const dstAt = srcAt + src.data.length + PAD;
  const end = dstAt + dst.data.length + PAD;
  if (k.memory.buffer.byteLength < end) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / 65536));
  const mem = new Uint8Array(k.memory.buffer);
  let at = TABLES_AT;
  const table = (bytes: Uint8Array): number => {
    const start = at;
    mem.set(bytes, start);
    at += aligned(bytes.length);
    return start;
  };
  const { luma, chroma } = m;
  const lumaRows = table(new Uint8Array(luma.rows.buffer, luma.rows.byteOffset, luma.rows.byteLength));
  const lumaBlocks = table(luma.blocks);
  const chromaRows = table(new Uint8Array(chroma.rows.buffer, chroma.rows.byteOffset, chroma.rows.byteLength));
  const chromaBlocks = table(chroma.blocks);
  mem.set(src.data, srcAt);
  const sU = src.width * src.height;
  const sV = sU + (src.width / 2) * (src.height / 2);
  const dU = dst.width * dst.height;
  const dV = dU + (dst.width / 2) * (dst.height / 2);
  k.blendPlane(dstAt, luma.width, luma.height, srcAt, lumaRows, lumaBlocks, luma.n);
  k.nearestPlane(dstAt + dU, chroma.width, chroma.height, srcAt + sU, chromaRows, chromaBlocks, chroma.n);
  k.nearestPlane(dstAt + dV, chroma.width, chroma.height, srcAt + sV, chromaRows, chromaBlocks, chroma.n);
  dst.data.set(mem.subarray(dstAt, dstAt + dst.data.length));
}
