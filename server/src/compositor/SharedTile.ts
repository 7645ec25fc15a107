import { allocPicture, type Picture } from './picture.js';
import type { TileSource } from './ProgramOutput.js';
import { fillWindow, fitSize, scaleMap, scalePicture, type ScaleMap } from './scalePicture.js';

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
 * A tile of the vertical program cut from the picture the 16:9 program shows of the same camera at
 * the same tick: no second decoder, so the tile shares that decoder's playout (lip sync) and costs
 * only the scaling, once per new picture. Measured per 640x360 camera at 30 fps (bench/outputs.ts,
 * "one decode per camera"): a second ffmpeg decoder at the vertical tile's size cost 0.024–0.025
 * cores (0.03–0.04 live, with its RTP input); a second scaled output of the same decoder (ffmpeg
 * split) +0.012–0.015, before reading the extra pipe, and it would mean restarting every 16:9 decoder
 * when the vertical program starts or stops (the 16:9 program losing up to 150 ms of each person's
 * sound then); this scaler +0.007–0.012, and it touches nothing of the 16:9 program. Its price: the
 * tile has at most the pixels of the 16:9 picture, scaled up by nearest sample for large tiles.
 */
export class SharedTile implements TileSource {
  #size: SharedTileSize;
  #out: Picture | null = null;
  #map: ScaleMap | null = null;
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
    const m = this.#map;
    if (!m || m.srcWidth !== src.width || m.srcHeight !== src.height || m.dstWidth !== size.width || m.dstHeight !== size.height || this.#key === -1) {
      this.#map = scaleMap(src, size, tile.fit === 'fill' ? fillWindow(src, tile) : undefined);
    }
    scalePicture(this.#out, src, this.#map!);
    this.#key = source.frameKey;
    return this.#out;
  }
}
