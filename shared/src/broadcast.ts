/** Broadcast (go live) and destination types shared by the server, the meeting UI and the dashboard. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

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
export const DestinationState = Type.Union([
  Type.Literal('connecting'),
  Type.Literal('live'),
  Type.Literal('retrying'),
  Type.Literal('failed'),
  Type.Literal('stopped'),
]);
export type DestinationState = Static<typeof DestinationState>;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const DestinationStatus = Type.Object({
  destinationId: Type.String(),
  name: Type.String(),
  platform: Platform,
  /** Server URL with the stream key masked, e.g. rtmp://a.rtmp.youtube.com/live2/••••abcd */
  maskedUrl: Type.String(),
  state: DestinationState,
  /** Output bitrate in kb/s over the last few seconds, 0 when not flowing. */
  bitrateKbps: Type.Number(),
  fps: Type.Number(),
  retries: Type.Integer(),
  /** The last failure in plain words, null when none. */
  lastError: Nullable(Type.String()),
  /** ISO time the destination last went live, null if it never has. */
  liveSince: Nullable(Type.String()),
});
export type DestinationStatus = Static<typeof DestinationStatus>;

export const BroadcastState = Type.Union([
  Type.Literal('starting'),
  Type.Literal('live'),
  Type.Literal('stopping'),
  Type.Literal('stopped'),
  Type.Literal('failed'),
]);
export type BroadcastState = Static<typeof BroadcastState>;

export const BroadcastStatus = Type.Object({
  id: Type.String(),
  roomId: Type.String(),
  state: BroadcastState,
  /** ISO time the host pressed Go live. */
  startedAt: Type.String(),
  layout: BroadcastLayout,
  resolution: Resolution,
  title: Nullable(Type.String()),
  lowerThird: Nullable(Type.String()),
  recording: Type.Boolean(),
  composer: Type.Object({
    /** Composer restarts caused by a crash (not by membership changes). */
    crashes: Type.Integer(),
    lastError: Nullable(Type.String()),
    fps: Type.Number(),
  }),
  destinations: Type.Array(DestinationStatus),
});
export type BroadcastStatus = Static<typeof BroadcastStatus>;
