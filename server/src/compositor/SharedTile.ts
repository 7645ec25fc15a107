import { allocPicture, type Picture } from './picture.js';
import type { TileSource } from './ProgramOutput.js';
import { bilinearMap, fillWindow, fitSize, scaleBilinear, scaleMap, scalePicture, type BilinearMap, type ScaleMap } from './scalePicture.js';
import { scaleSimd, simdKernel, simdMap, type SimdMap } from './simdScale.js';

/** What a shared tile reads from the 16:9 program's source: the decoder's picture chosen for this tick. */
export interface TickPicture {
  readonly current: { readonly picture: Picture } | null;
  readonly frameKey: number;
  readonly lastFrameAt: number;
}

/** The vertical tile's size and how a picture goes into it ('fill' crops, 'fit' letterboxes). */
export interface SharedTileSize {
  width: number;
  height: number;
  fit: 'fill' | 'fit';
}

/**
 * How the tile's picture is made from the window it shows: by nearest sample where that window has
 * at least the tile's pixels, else its luma blended along rows, by the SIMD kernel where it is built
 * and takes the map (`simd`), else in JavaScript (the same bytes).
 */
type TileMap = { kind: 'nearest'; map: ScaleMap } | { kind: 'bilinear'; map: BilinearMap; simd: SimdMap | null };

/**
 * A tile of the vertical program cut from the picture the 16:9 program shows of the same camera at
 * the same tick: no second decoder, so the tile shares that decoder's playout (lip sync) and costs
 * only the scaling, once per new picture. Measured per 640x360 camera at 30 fps (bench/outputs.ts,
 * "one decode per camera"): a second ffmpeg decoder at the vertical tile's size cost 0.024–0.025
 * cores (0.03–0.04 live, with its RTP input); a second scaled output of the same decoder (ffmpeg
 * split) +0.012–0.015, before reading the extra pipe, and it would mean restarting every 16:9 decoder
 * when the vertical program starts or stops (the 16:9 program losing up to 150 ms of each person's
 * sound then); this scaler +0.007–0.012 by nearest sample, and it touches nothing of the 16:9 program.
 * Its price: the tile has at most the pixels of the 16:9 picture. A cut smaller than the tile (two
 * or four people: 404x360 for 720x640, 202x360 for 360x640, ×1.78) has its luma blended along the
 * rows (the nearest row repeated) and its chroma sampled, not all of it sampled: +0.8 and +1.9 dB
 * PSNR, +0.0013 and +0.0034 SSIM against the camera's top layer decoded at the tile's size, for
 * +0.005 to +0.013 cores per camera ("vertical tile sharpness" in bench/outputs.ts). Blending the
 * chroma too gained +1.2 and +2.6 dB for +0.007 to +0.019, a full bilinear blend +1.7 and +3.0 dB
 * for +0.013 to +0.040 (live it put the vertical program at 0.80× the 16:9 encoder), and the 16:9
 * decoder taking the top layer +4.9 dB (two people) for about +0.04 plus 4× the pipe, with the 16:9
 * tile 4.3 dB worse and the 16:9 decoders restarted. Under the vertical program's cost target
 * (≤ 0.6× the 16:9 encoder) the cheapest blend was taken: the most gain per core. Since then it runs
 * in a WebAssembly SIMD kernel (simdScale.ts, the same bytes): 0.003–0.005 cores per camera instead
 * of 0.015–0.035, and Node's share of the live vertical program fell by 0.05–0.07 cores.
 */
export class SharedTile implements TileSource {
  #size: SharedTileSize;
  #out: Picture | null = null;
  #map: TileMap | null = null;
  #key = -1;

  constructor(
    private readonly source: () => TickPicture | undefined,
    size: SharedTileSize,
  ) {
    this.#size = size;
  }

  /** The tile changed size or fit (a vertical layout change): the next picture is cut for it. */
  resize(size: SharedTileSize): void {
    if (size.width === this.#size.width && size.height === this.#size.height && size.fit === this.#size.fit) return;
    this.#size = size;
    this.#key = -1;
  }

  get frameKey(): number {
    return this.source()?.frameKey ?? 0;
  }

  get lastFrameAt(): number {
    return this.source()?.lastFrameAt ?? -Infinity;
  }

  get picture(): Picture | null {
    const source = this.source();
    const src = source?.current?.picture;
    if (!source || !src) return null;
    if (this.#key === source.frameKey && this.#out) return this.#out;
    const tile = this.#size;
    const size = tile.fit === 'fill' ? tile : fitSize(src, tile);
    if (!this.#out || this.#out.width !== size.width || this.#out.height !== size.height) this.#out = allocPicture(size.width, size.height);
    // Made again for another picture or tile size, and after a resize (#key -1: the fit may have changed).
    const old = this.#map?.map;
    if (!old || old.srcWidth !== src.width || old.srcHeight !== src.height || old.dstWidth !== size.width || old.dstHeight !== size.height || this.#key === -1) {
      const window = tile.fit === 'fill' ? fillWindow(src, tile) : { x: 0, y: 0, w: src.width, h: src.height };
      if (window.w < size.width || window.h < size.height) {
        const map = bilinearMap(src, size, window, 'nearest');
        this.#map = { kind: 'bilinear', map, simd: simdKernel() ? simdMap(map) : null };
      } else {
        this.#map = { kind: 'nearest', map: scaleMap(src, size, window) };
      }
    }
    const m = this.#map!;
    const kernel = simdKernel();
    if (m.kind === 'bilinear' && m.simd && kernel) scaleSimd(kernel, this.#out, src, m.simd);
    else if (m.kind === 'bilinear') scaleBilinear(this.#out, src, m.map, 'nearest');
    else scalePicture(this.#out, src, m.map);
    this.#key = source.frameKey;
    return this.#out;
  }
}
