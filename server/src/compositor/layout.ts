import type { BroadcastLayout, Resolution } from '@onair/shared';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FrameSize {
  width: number;
  height: number;
}

/** Output frame sizes per resolution. */
export const FRAME_SIZES: Record<Resolution, FrameSize> = {
  '720p': { width: 1280, height: 720 },
  '1080p': { width: 1920, height: 1080 },
};

/** Most tiles a composition shows; further participants are heard, not seen. */
export const MAX_TILES = 9;

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** Columns × rows for a grid of n tiles (1 → 1×1, 2 → 2×1, 3–4 → 2×2, 5–6 → 3×2, 7–9 → 3×3). */
export function gridShape(n: number): { cols: number; rows: number } {
  if (n <= 1) return { cols: 1, rows: 1 };
  const cols = Math.ceil(Math.sqrt(n));
  return { cols, rows: Math.ceil(n / cols) };
}

/** Equal cells, last row centred, the whole grid centred in the frame. */
export function gridRects(n: number, frame: FrameSize): Rect[] {
  const count = Math.min(Math.max(n, 0), MAX_TILES);
  if (count === 0) return [];
  const { cols, rows } = gridShape(count);
  const w = even(frame.width / cols);
  const h = even(frame.height / rows);
  const top = Math.floor((frame.height - rows * h) / 4) * 2;
  const rects: Rect[] = [];
  for (let i = 0; i < count; i += 1) {
    const row = Math.floor(i / cols);
    const col = i % cols;
    const inRow = row === rows - 1 ? count - row * cols : cols;
    const left = Math.floor((frame.width - inRow * w) / 4) * 2;
    rects.push({ x: left + col * w, y: top + row * h, w, h });
  }
  return rects;
}

/**
 * One large tile on top (the speaker or the screen share) and the others in a strip along the
 * bottom quarter, centred; with a single tile it fills the frame.
 */
export function featuredRects(n: number, frame: FrameSize): Rect[] {
  const count = Math.min(Math.max(n, 0), MAX_TILES);
  if (count === 0) return [];
  if (count === 1) return [{ x: 0, y: 0, w: frame.width, h: frame.height }];
  const stripH = even(frame.height / 4);
  const others = count - 1;
  const cellW = even(frame.width / Math.max(4, others));
  const cellH = stripH;
  const main: Rect = { x: 0, y: 0, w: frame.width, h: frame.height - stripH };
  const left = Math.floor((frame.width - others * cellW) / 4) * 2;
  const rects = [main];
  for (let i = 0; i < others; i += 1) rects.push({ x: left + i * cellW, y: main.h, w: cellW, h: cellH });
  return rects;
}

/** The layout actually drawn: auto is screen when someone shares a screen, else grid. */
export function effectiveLayout(layout: BroadcastLayout, hasScreen: boolean): Exclude<BroadcastLayout, 'auto'> {
  if (layout === 'auto') return hasScreen ? 'screen' : 'grid';
  if (layout === 'screen' && !hasScreen) return 'grid';
  return layout;
}

export function layoutRects(layout: Exclude<BroadcastLayout, 'auto'>, n: number, frame: FrameSize): Rect[] {
  return layout === 'grid' ? gridRects(n, frame) : featuredRects(n, frame);
}
