import type { BroadcastLayout, LogoCorner, VerticalLayout } from '@onair/shared';
import { effectiveLayout, layoutRects, MAX_TILES, type FrameSize } from './layout.js';
import type { Overlay, Rect } from './picture.js';

/** A producer as the scene sees it. */
export interface SceneMedia {
  producerId: string;
  paused: boolean;
}

/** A participant on stage. */
export interface SceneParticipant {
  peerId: string;
  displayName: string;
  camera: SceneMedia | null;
  screen: SceneMedia | null;
  mic: SceneMedia | null;
  /** Only the screen share is on air (the person is backstage): no camera tile. Default false. */
  screenOnly?: boolean;
}

export interface SceneInput {
  participants: SceneParticipant[];
  layout: BroadcastLayout;
  /** The speaker to feature in the speaker layout (already debounced), or null. */
  speakerId: string | null;
  frame: FrameSize;
  title: string | null;
  lowerThird: string | null;
  /** Shown when nobody is on stage. */
  slateText: string;
  /** A logo drawn over everything in a corner; null for none. */
  logo?: SceneLogo | null;
  /** Set for the vertical (9:16) program: its layout replaces `layout`. Default unset (the 16:9 program). */
  vertical?: VerticalLayout;
}

/** A decoded logo: `key` changes with the image (the scene compares keys, never pixels). */
export interface SceneLogo {
  key: number;
  image: Overlay;
  corner: LogoCorner;
}

export interface SceneTile {
  rect: Rect;
  peerId: string;
  kind: 'camera' | 'screen';
  /** The video shown in the tile; null (or a paused/stalled one) shows the name tile. */
  video: SceneMedia | null;
  /** The participant's name, for the name tile. */
  name: string;
  /** Drawn inside the tile, bottom left, over the video; null for none. */
  label: string | null;
  /** Simulcast spatial layer worth decoding for this tile. */
  layer: number;
}

export interface Scene {
  frame: FrameSize;
  layout: 'grid' | 'speaker' | 'screen' | VerticalDrawn;
  /** Where the tiles are laid out: the frame minus the title and lower-third bands. */
  stage: Rect;
  tiles: SceneTile[];
  /** Microphones to mix (paused ones included: they are silent while paused). */
  audio: SceneMedia[];
  slate: string | null;
  title: { text: string; band: Rect } | null;
  lowerThird: { text: string; band: Rect } | null;
  logo: { key: number; image: Overlay; rect: Rect } | null;
}

/** Longest name drawn on a tile; longer names are cut with an ellipsis. */
const MAX_LABEL = 32;

export function cleanLabel(name: string): string {
  const clean = name.replace(/[\r\n\t]+/g, ' ').trim() || 'Guest';
  return clean.length > MAX_LABEL ? `${clean.slice(0, MAX_LABEL - 1)}…` : clean;
}

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** Height of the title band and of the lower-third band (a twelfth of the frame). */
export function bandHeight(frame: FrameSize): number {
  return even(frame.height / 12);
}

/**
 * The picture for the current room and settings: tiles (grid, speaker or screen layout) laid out
 * in the stage, between a title band at the top and a lower-third band at the bottom when those
 * are set, so neither ever covers a face.
 */
export function buildScene(input: SceneInput): Scene {
  const { frame } = input;
  const band = bandHeight(frame);
  const top = input.title ? band : 0;
  const bottom = input.lowerThird ? band : 0;
  const stage: Rect = { x: 0, y: top, w: frame.width, h: frame.height - top - bottom };
  const screens = input.participants.filter((p) => p.screen !== null);
  const people = input.participants.filter((p) => !p.screenOnly);
  const layout = input.vertical ? effectiveVerticalLayout(input.vertical, screens.length > 0, people.length) : effectiveLayout(input.layout, screens.length > 0);

  type Source = Omit<SceneTile, 'rect' | 'layer'>;
  const camera = (p: SceneParticipant): Source => {
    const name = cleanLabel(p.displayName);
    return { peerId: p.peerId, kind: 'camera', video: p.camera, name, label: name };
  };
  const screen = (p: SceneParticipant, withLabel: boolean): Source => {
    const name = cleanLabel(`${p.displayName} (screen)`);
    return { peerId: p.peerId, kind: 'screen', video: p.screen, name, label: withLabel ? name : null };
  };

  const featured = people.find((p) => p.peerId === input.speakerId) ?? people[0];
  let sources: Source[];
  if (layout === 'split') {
    // The speaker on top; below, the screen share, or else the next person.
    const below = screens[0] ? screen(screens[0], false) : people.filter((p) => p !== featured).map(camera)[0];
    sources = [...(featured ? [camera(featured)] : []), ...(below ? [below] : [])];
  } else if (layout === 'single') {
    sources = featured ? [camera(featured)] : screens.slice(0, 1).map((p) => screen(p, false));
  } else if (layout === 'stack') {
    sources = [...(featured ? [camera(featured)] : []), ...people.filter((p) => p !== featured).map(camera), ...screens.map((p) => screen(p, true))];
  } else if (layout === 'screen') {
    const [main, ...others] = screens;
    sources = [...(main ? [screen(main, false)] : []), ...others.map((p) => screen(p, true)), ...people.map(camera)];
  } else if (layout === 'speaker') {
    sources = [
      ...(featured ? [camera(featured)] : []),
      ...people.filter((p) => p !== featured).map(camera),
      ...screens.map((p) => screen(p, true)),
    ];
  } else {
    sources = [...screens.map((p) => screen(p, true)), ...people.map(camera)];
  }
  sources = sources.slice(0, MAX_TILES);

  const stageSize = { width: stage.w, height: stage.h };
  const rects = layout === 'split' || layout === 'single' || layout === 'stack' ? verticalRects(layout, sources.length, stageSize) : layoutRects(layout, sources.length, stageSize);
  const tiles: SceneTile[] = [];
  sources.forEach((source, i) => {
    const r = rects[i];
    if (!r) return;
    const rect = { x: r.x + stage.x, y: r.y + stage.y, w: r.w, h: r.h };
    tiles.push({ ...source, rect, layer: simulcastLayer(rect.w / frame.width) });
  });

  return {
    frame,
    layout,
    stage,
    tiles,
    audio: input.participants.flatMap((p) => (p.mic ? [p.mic] : [])),
    slate: input.participants.length === 0 ? input.slateText : null,
    title: input.title ? { text: input.title, band: { x: 0, y: 0, w: frame.width, h: band } } : null,
    lowerThird: input.lowerThird ? { text: input.lowerThird, band: { x: 0, y: frame.height - band, w: frame.width, h: band } } : null,
    logo: input.logo ? { key: input.logo.key, image: input.logo.image, rect: logoRect(input.logo.image, input.logo.corner, frame) } : null,
  };
}

/** What a vertical layout draws: auto is split while a screen is shared, else single for one person, stack for more. */
export type VerticalDrawn = Exclude<VerticalLayout, 'auto'>;

export function effectiveVerticalLayout(layout: VerticalLayout, hasScreen: boolean, people: number): VerticalDrawn {
  if (layout !== 'auto') return layout;
  if (hasScreen) return 'split';
  return people <= 1 ? 'single' : 'stack';
}

/**
 * Tiles of the vertical program in a tall stage: 'single' fills it; 'split' is two full-width
 * halves (one tile fills it); 'stack' is full-width rows for up to three, then two columns (three
 * from seven), the last row centred.
 */
export function verticalRects(layout: VerticalDrawn, n: number, stage: FrameSize): Rect[] {
  const count = Math.min(Math.max(n, 0), layout === 'single' ? 1 : layout === 'split' ? 2 : MAX_TILES);
  if (count === 0) return [];
  const cols = count <= 3 ? 1 : count <= 6 ? 2 : 3;
  const rows = Math.ceil(count / cols);
  const w = even(stage.width / cols);
  const h = even(stage.height / rows);
  const rects: Rect[] = [];
  for (let i = 0; i < count; i += 1) {
    const row = Math.floor(i / cols);
    const inRow = row === rows - 1 ? count - row * cols : cols;
    const left = Math.floor((stage.width - inRow * w) / 4) * 2;
    // The bottom row takes what the even rounding left over, so the tiles cover the stage.
    const last = row === rows - 1;
    rects.push({ x: left + (i % cols) * w, y: row * h, w, h: last ? even(stage.height - row * h) : h });
  }
  return rects;
}

/** Largest logo drawn: a fifth of the frame's width, a sixth of its height (larger ones are scaled down when decoded). */
export function logoBox(frame: FrameSize): { width: number; height: number } {
  return { width: even(frame.width / 5), height: even(frame.height / 6) };
}

/** Where a logo sits: in its corner, a margin (a fortieth of the frame width, even) from both edges. */
export function logoRect(image: { width: number; height: number }, corner: LogoCorner, frame: FrameSize): Rect {
  const margin = even(frame.width / 40);
  const w = Math.min(image.width, frame.width);
  const h = Math.min(image.height, frame.height);
  const x = corner.endsWith('left') ? margin : even(frame.width - margin - w);
  const y = corner.startsWith('top') ? margin : even(frame.height - margin - h);
  return { x: Math.max(0, x), y: Math.max(0, y), w, h };
}

/** Two scenes draw the same picture (a logo compares by key, not by pixels). */
export function sameScene(a: Scene, b: Scene): boolean {
  const skipImage = (key: string, value: unknown): unknown => (key === 'image' ? undefined : value);
  return JSON.stringify(a, skipImage) === JSON.stringify(b, skipImage);
}

/** Top layer for a tile most of the frame wide, the middle one for grid tiles, the lowest for thumbnails. */
export function simulcastLayer(widthShare: number): number {
  return widthShare >= 0.6 ? 2 : widthShare > 0.3 ? 1 : 0;
}

/** What each decoder must deliver: a video producer at a tile size and layer, or a microphone. */
export interface SourceWant {
  producerId: string;
  kind: 'audio' | 'video';
  /** Cameras fill their tile (cropped); screens are letterboxed. */
  fit: 'fill' | 'fit';
  width: number;
  height: number;
  layer: number;
}

/**
 * The picture size a decoder delivers for a tile: one of four 16:9 sizes (full frame, half, third,
 * quarter of the frame width), the smallest at least as wide as the tile. The compositor centres it
 * in the tile (cropping or letterboxing the rest), so most layout changes (2 → 3 → 4 people, a
 * title band appearing) keep every decoder as it is; only a change of size class starts a new one.
 */
export function decodeSize(tileWidth: number, frame: FrameSize): { width: number; height: number } {
  const classes = [1, 2, 3, 4].map((d) => ({ width: even(frame.width / d), height: even(frame.height / d) }));
  let pick = classes[0] ?? { width: frame.width, height: frame.height };
  for (const c of classes) if (c.width >= tileWidth - 2) pick = c;
  return pick;
}

/** The decoders a scene needs, by producer id (a producer shown twice is decoded once, at its largest tile). */
export function sourcesFor(scene: Scene, options: { exactSize?: boolean; audio?: boolean } = {}): Map<string, SourceWant> {
  const wants = new Map<string, SourceWant>();
  for (const tile of scene.tiles) {
    if (!tile.video) continue;
    // The vertical program's tiles are not 16:9: its decoders deliver the tile's own size.
    const size = options.exactSize ? { width: even(tile.rect.w), height: even(tile.rect.h) } : decodeSize(tile.rect.w, scene.frame);
    const prev = wants.get(tile.video.producerId);
    if (prev && prev.width >= size.width) continue;
    wants.set(tile.video.producerId, {
      producerId: tile.video.producerId,
      kind: 'video',
      fit: tile.kind === 'screen' ? 'fit' : 'fill',
      width: size.width,
      height: size.height,
      layer: tile.layer,
    });
  }
  if (options.audio !== false) for (const mic of scene.audio) wants.set(mic.producerId, { producerId: mic.producerId, kind: 'audio', fit: 'fill', width: 0, height: 0, layer: 0 });
  return wants;
}

export interface SourceDiff {
  add: SourceWant[];
  remove: string[];
  /** Sources whose tile size or layer changed: a new decoder takes over once it has a picture. */
  resize: SourceWant[];
}

/** What changes between two scenes' decoders; sources that keep their size are not touched. */
export function diffSources(before: Map<string, SourceWant>, after: Map<string, SourceWant>): SourceDiff {
  const diff: SourceDiff = { add: [], remove: [], resize: [] };
  for (const [id, want] of after) {
    const prev = before.get(id);
    if (!prev) diff.add.push(want);
    else if (prev.width !== want.width || prev.height !== want.height || prev.layer !== want.layer) diff.resize.push(want);
  }
  for (const id of before.keys()) if (!after.has(id)) diff.remove.push(id);
  return diff;
}
