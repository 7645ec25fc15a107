import type { BroadcastLayout, Resolution } from '@onair/shared';
import { effectiveLayout, FRAME_SIZES, layoutRects, MAX_TILES, type FrameSize, type Rect } from '../../server/src/compositor/layout.js';

/** A participant as the composer sees it: the ids of producers that are currently sending. */
export interface PlanParticipant {
  peerId: string;
  displayName: string;
  camera: string | null;
  screen: string | null;
  mic: string | null;
}

/** One RTP input of the composer, in SDP m-line order (= ffmpeg stream index). */
export interface PlanInput {
  producerId: string;
  kind: 'audio' | 'video';
}

export type TileContent =
  | { kind: 'video'; input: number; label: string | null }
  | { kind: 'name'; label: string };

export interface Tile {
  rect: Rect;
  content: TileContent;
}

/** Everything that decides the composed picture and sound; equal compositions need no restart. */
export interface Composition {
  frame: FrameSize;
  layout: 'grid' | 'speaker' | 'screen';
  inputs: PlanInput[];
  tiles: Tile[];
  /** Input indexes of the audio inputs to mix. */
  audio: number[];
  /** Text of the slate shown when nobody sends video, else null. */
  slate: string | null;
  title: string | null;
  lowerThird: string | null;
}

export interface PlanOptions {
  participants: PlanParticipant[];
  layout: BroadcastLayout;
  /** The speaker to feature in the speaker layout (already debounced), or null. */
  speakerId: string | null;
  resolution: Resolution;
  title: string | null;
  lowerThird: string | null;
  slateText: string;
}

/** Longest name drawn on a tile; longer names are cut with an ellipsis. */
const MAX_LABEL = 32;

function label(name: string): string {
  const clean = name.replace(/[\r\n\t]+/g, ' ').trim() || 'Guest';
  return clean.length > MAX_LABEL ? `${clean.slice(0, MAX_LABEL - 1)}…` : clean;
}

type TileSource = { kind: 'video'; producerId: string; label: string | null } | { kind: 'name'; label: string };

export function planComposition(options: PlanOptions): Composition {
  const frame = FRAME_SIZES[options.resolution];
  const screens = options.participants.filter((p) => p.screen !== null);
  const layout = effectiveLayout(options.layout, screens.length > 0);

  const cameraTile = (p: PlanParticipant): TileSource =>
    p.camera ? { kind: 'video', producerId: p.camera, label: label(p.displayName) } : { kind: 'name', label: label(p.displayName) };
  const screenTile = (p: PlanParticipant, withLabel: boolean): TileSource => ({
    kind: 'video',
    producerId: p.screen ?? '',
    label: withLabel ? label(`${p.displayName} (screen)`) : null,
  });

  let sources: TileSource[];
  if (layout === 'screen') {
    const [main, ...otherScreens] = screens;
    sources = [
      ...(main ? [screenTile(main, false)] : []),
      ...otherScreens.map((p) => screenTile(p, true)),
      ...options.participants.map(cameraTile),
    ];
  } else if (layout === 'speaker') {
    const featured = options.participants.find((p) => p.peerId === options.speakerId) ?? options.participants[0];
    sources = [
      ...(featured ? [cameraTile(featured)] : []),
      ...options.participants.filter((p) => p !== featured).map(cameraTile),
      ...screens.map((p) => screenTile(p, true)),
    ];
  } else {
    sources = [...screens.map((p) => screenTile(p, true)), ...options.participants.map(cameraTile)];
  }
  sources = sources.slice(0, MAX_TILES);

  const inputs: PlanInput[] = [];
  const tiles: Tile[] = [];
  const hasVideo = sources.some((s) => s.kind === 'video');
  if (hasVideo) {
    const rects = layoutRects(layout, sources.length, frame);
    sources.forEach((source, i) => {
      const rect = rects[i];
      if (!rect) return;
      if (source.kind === 'video') {
        inputs.push({ producerId: source.producerId, kind: 'video' });
        tiles.push({ rect, content: { kind: 'video', input: inputs.length - 1, label: source.label } });
      } else {
        tiles.push({ rect, content: source });
      }
    });
  }
  const audio: number[] = [];
  for (const p of options.participants) {
    if (!p.mic) continue;
    inputs.push({ producerId: p.mic, kind: 'audio' });
    audio.push(inputs.length - 1);
  }
  return {
    frame,
    layout,
    inputs,
    tiles,
    audio,
    slate: hasVideo ? null : options.slateText,
    title: options.title,
    lowerThird: options.lowerThird,
  };
}

/** A string that is equal for two compositions exactly when they draw the same thing. */
export function compositionKey(composition: Composition): string {
  return JSON.stringify(composition);
}
