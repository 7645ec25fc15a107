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

/** Which program a destination or recording takes: the 16:9 one, or the 9:16 one composed from the same scene. */
export const ProgramKind = Type.Union([Type.Literal('landscape'), Type.Literal('vertical')]);
export type ProgramKind = Static<typeof ProgramKind>;

/**
 * Layouts of the vertical (9:16) program: 'split' the speaker on top and the screen share (or the
 * next person) below, 'stack' everyone stacked (two columns from four people), 'single' the
 * featured speaker alone; 'auto' is split while someone shares a screen, else single for one
 * person and stack for more.
 */
export const VerticalLayout = Type.Union([Type.Literal('auto'), Type.Literal('split'), Type.Literal('stack'), Type.Literal('single')]);
export type VerticalLayout = Static<typeof VerticalLayout>;

/** The corner of the program a logo sits in. */
export const LogoCorner = Type.Union([
  Type.Literal('top-left'),
  Type.Literal('top-right'),
  Type.Literal('bottom-left'),
  Type.Literal('bottom-right'),
]);
export type LogoCorner = Static<typeof LogoCorner>;

/** Longest slate text ("We'll be right back"). */
export const SLATE_TEXT_MAX = 120;
/** Largest logo PNG accepted (bytes). */
export const LOGO_MAX_BYTES = 512 * 1024;

/** The broadcast's idle timeout: nobody on stage (the slate on air) this many minutes ends it. */
export const IdleTimeoutMinutes = Type.Integer({ minimum: 1, maximum: 1440 });
export const DEFAULT_IDLE_TIMEOUT_MINUTES = 10;

export const Platform = Type.Union([
  Type.Literal('youtube'),
  Type.Literal('youtube_rtmps'),
  Type.Literal('facebook'),
  Type.Literal('twitch'),
  Type.Literal('linkedin'),
  Type.Literal('tiktok'),
  Type.Literal('instagram'),
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
  /** The program it takes. */
  program: ProgramKind,
});
export type DestinationStatus = Static<typeof DestinationStatus>;

/** 'preview': composed for the hosts to check, sent nowhere yet; going live keeps the same program. */
export const BroadcastState = Type.Union([
  Type.Literal('starting'),
  Type.Literal('preview'),
  Type.Literal('live'),
  Type.Literal('stopping'),
  Type.Literal('stopped'),
  Type.Literal('failed'),
]);
export type BroadcastState = Static<typeof BroadcastState>;

/** Most samples a health series holds: 5 minutes at the 2 s status cadence, with room for extra state changes. */
export const HEALTH_MAX_SAMPLES = 200;
const Samples = <T extends TSchema>(schema: T) => Type.Array(schema, { maxItems: HEALTH_MAX_SAMPLES });

/** One destination's recent health, oldest sample first; the arrays run in step with `t`. */
export const DestinationHealth = Type.Object(
  {
    destinationId: Type.String({ maxLength: 64 }),
    /** Seconds since the broadcast started, one per sample. */
    t: Samples(Type.Number()),
    bitrateKbps: Samples(Type.Number()),
    fps: Samples(Type.Number()),
    /** The destination's retry count at each sample: a step up marks a retry. */
    retries: Samples(Type.Integer()),
    state: Samples(DestinationState),
  },
  { additionalProperties: false },
);
export type DestinationHealth = Static<typeof DestinationHealth>;

/** The last minutes of a live broadcast, kept by the server so a panel opened late still shows them. */
export const BroadcastHealth = Type.Object(
  {
    /** Window the series cover, in seconds (300). */
    windowSeconds: Type.Number(),
    /** The program's own frame rate (what the encoder puts out). */
    program: Type.Object({ t: Samples(Type.Number()), fps: Samples(Type.Number()) }, { additionalProperties: false }),
    destinations: Type.Array(DestinationHealth, { maxItems: 32 }),
  },
  { additionalProperties: false },
);
export type BroadcastHealth = Static<typeof BroadcastHealth>;

/** One participant's decoder in the program: how well their sound lines up with their picture. */
export const ProgramSourceStatus = Type.Object(
  {
    /** The participant's name ("Name (screen)" for a screen share). */
    name: Type.String(),
    /** Audio minus video as played, on the sender's clock (ms, + = audio ahead); null without both. */
    avOffsetMs: Nullable(Type.Number()),
    /** Media held back in the jitter buffer to absorb late arrivals (ms, at most 150); null before any. */
    bufferMs: Nullable(Type.Number()),
  },
  { additionalProperties: false },
);
export type ProgramSourceStatus = Static<typeof ProgramSourceStatus>;

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
  /** Shown while nobody is on stage (the slate). */
  slateText: Type.String(),
  /** The logo on air (its corner), null when none. */
  logo: Nullable(Type.Object({ corner: LogoCorner, width: Type.Integer(), height: Type.Integer() })),
  /** Nobody on stage this long (after the show began) ends the broadcast. */
  idleTimeoutMinutes: Type.Integer(),
  /** ISO time the stage became empty (the slate went on air), null while someone is on stage. */
  idleSince: Nullable(Type.String()),
  recording: Type.Boolean(),
  /** The hosts' program preview can be consumed (consumePreview). */
  preview: Type.Boolean(),
  /**
   * The vertical (9:16) program's layout and size; it is encoded (`encoding`) while a destination
   * takes it or while it is recorded (`recording`).
   */
  vertical: Type.Object({ layout: VerticalLayout, resolution: Resolution, encoding: Type.Boolean(), recording: Type.Boolean() }),
  composer: Type.Object({
    /** Composer restarts caused by a crash (not by membership changes). */
    crashes: Type.Integer(),
    lastError: Nullable(Type.String()),
    fps: Type.Number(),
    /** Each on-stage participant's lip sync (A/V offset) and jitter buffer. */
    sources: Type.Optional(Type.Array(ProgramSourceStatus, { maxItems: 64 })),
  }),
  destinations: Type.Array(DestinationStatus),
  /** Recent health, for the room's hosts (the broadcast service adds it; guests get none). */
  health: Type.Optional(BroadcastHealth),
  /** The OnAir event page this broadcast also publishes to (HLS at /watch/<slug>), absent when off. */
  eventPage: Type.Optional(Type.Object({ url: Type.String(), viewers: Type.Integer({ minimum: 0 }), private: Type.Boolean() })),
});
export type BroadcastStatus = Static<typeof BroadcastStatus>;
