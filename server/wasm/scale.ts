// AssemblyScript, compiled to server/wasm/build/scale.wasm at install (scripts/build-wasm.mjs).
// The vertical program's tile scaler (SharedTile): a 16:9 camera picture's 9:16 cut scaled up to
// its tile, the luma blended along rows (the nearest row repeated), the chroma by nearest sample.
// Sixteen destination pixels at a time with WebAssembly SIMD: a block of sixteen needs at most
// sixteen consecutive source bytes when scaling up, so one load and a byte shuffle (swizzle) per
// tap gathers them. Written by hand because V8 runs the same loop in JavaScript at 2–3 ns a pixel
// (0.6–0.8 ms a 360x640 tile) and no library on npm scales raw yuv420p planes in place.
// The output is byte for byte that of scaleBilinear(…, 'nearest') in scalePicture.ts (a unit test checks it).
// @ts-nocheck: AssemblyScript types (usize, v128, load<T>) are not TypeScript's.

/**
 * One plane blended along rows. `rows`: dh i32 source row offsets (bytes from `src`); `blocks`:
 * `n` records of 112 bytes (i32 destination x, i32 first source byte, 8 bytes unused, then v128s:
 * the first tap's byte indices, the second's, the first tap's weights (low 8 lanes, high 8 lanes,
 * u16), the second's).
 */
export function blendPlane(dst: usize, dw: i32, dh: i32, src: usize, rows: usize, blocks: usize, n: i32): void {
  const round = i16x8.splat(128);
  let last = -1;
  for (let y = 0; y < dh; y++) {
    const r = load<i32>(rows + (<usize>y << 2));
    const out = dst + <usize>(y * dw);
    if (r == last) {
      memory.copy(out, out - <usize>dw, <usize>dw);
      continue;
    }
    last = r;
    const row = src + <usize>r;
    for (let k = 0; k < n; k++) {
      const b = blocks + <usize>(k * 112);
      const v = v128.load(row + <usize>load<i32>(b, 4));
      const a = i8x16.swizzle(v, v128.load(b, 16));
      const c = i8x16.swizzle(v, v128.load(b, 32));
      const lo = i16x8.shr_u(i16x8.add(i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(a), v128.load(b, 48)), i16x8.mul(i16x8.extend_low_i8x16_u(c), v128.load(b, 80))), round), 8);
      const hi = i16x8.shr_u(i16x8.add(i16x8.add(i16x8.mul(i16x8.extend_high_i8x16_u(a), v128.load(b, 64)), i16x8.mul(i16x8.extend_high_i8x16_u(c), v128.load(b, 96))), round), 8);
      v128.store(out + <usize>load<i32>(b), i8x16.narrow_i16x8_u(lo, hi));
    }
  }
}

/** One plane by nearest sample. `rows` as in blendPlane; `blocks`: `n` records of 32 bytes (i32 destination x, i32 first source byte, 8 unused, v128 byte indices). */
export function nearestPlane(dst: usize, dw: i32, dh: i32, src: usize, rows: usize, blocks: usize, n: i32): void {
  let last = -1;
  for (let y = 0; y < dh; y++) {
    const r = load<i32>(rows + (<usize>y << 2));
    const out = dst + <usize>(y * dw);
    if (r == last) {
      memory.copy(out, out - <usize>dw, <usize>dw);
      continue;
    }
    last = r;
    const row = src + <usize>r;
    for (let k = 0; k < n; k++) {
      const b = blocks + <usize>(k * 32);
      v128.store(out + <usize>load<i32>(b), i8x16.swizzle(v128.load(row + <usize>load<i32>(b, 4)), v128.load(b, 16)));
    }
  }
}
