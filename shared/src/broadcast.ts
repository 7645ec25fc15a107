/** Broadcast (go live) and destination types shared by the server, the meeting UI and the dashboard. */
import { Type, type Static } from '@sinclair/typebox';

export const BroadcastLayout = Type.Union([
  Type.Literal('auto'),
  Type.Literal('grid'),
  Type.Literal('speaker'),
  Type.Literal('screen'),
]);
export type BroadcastLayout = Static<typeof BroadcastLayout>;

export const Resolution = Type.Union([Type.Literal('720p'), Type.Literal('1080p')]);
export type Resolution = Static<typeof Resolution>;

export const Platform = Type.Union([
  Type.Literal('youtube'),
  Type.Literal('youtube_rtmps'),
  Type.Literal('facebook'),
  Type.Literal('twitch'),
  Type.Literal('linkedin'),
  Type.Literal('custom'),
]);
export type Platform = Static<typeof Platform>;

/** Per-destination lifecycle; each destination moves through it on its own. */
export type DestinationState = 'connecting' | 'live' | 'retrying' | 'failed' | 'stopped';

export interface DestinationStatus {
  destinationId: string;
  name: string;
  platform: Platform;
  /** Server URL with the stream key masked, e.g. rtmp://a.rtmp.youtube.com/live2/••••abcd */
  maskedUrl: string;
  state: DestinationState;
  /** Output bitrate in kb/s over the last few seconds, 0 when not flowing. */
  bitrateKbps: number;
  fps: number;
  retries: number;
  /** The last failure in plain words, null when none. */
  lastError: string | null;
  /** ISO time the destination last went live, null if it never has. */
  liveSince: string | null;
}

export type BroadcastState = 'starting' | 'live' | 'stopping' | 'stopped' | 'failed';

export interface BroadcastStatus {
  id: string;
  roomId: string;
  state: BroadcastState;
  /** ISO time the host pressed Go live. */
  startedAt: string;
  layout: BroadcastLayout;
  resolution: Resolution;
  title: string | null;
  lowerThird: string | null;
  recording: boolean;
  composer: {
    /** Composer restarts caused by a crash (not by membership changes). */
    crashes: number;
    lastError: string | null;
    fps: number;
  };
  destinations: DestinationStatus[];
}
