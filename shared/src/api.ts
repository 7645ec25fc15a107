/**
 * REST API bodies and replies, defined once. The server registers these as Fastify route schemas
 * (validated with Ajv and published at /docs); the client uses the static types.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BroadcastLayout, BroadcastStatus, LogoCorner, Platform, ProgramKind, Resolution, VerticalLayout } from './broadcast.js';
import { Role } from './protocol.js';

export const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
export type ErrorReply = Static<typeof ErrorReply>;

const IsoTime = Type.String({ format: 'date-time', maxLength: 64 });

export const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  disabled: Type.Boolean(),
  createdAt: IsoTime,
});
export type User = Static<typeof User>;

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const LoginReply = Type.Object({ token: Type.String(), user: User });
export type LoginReply = Static<typeof LoginReply>;

export const CreateUserBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    name: Type.String({ minLength: 1, maxLength: 80 }),
    password: Type.String({ minLength: 8, maxLength: 256 }),
    role: Type.Union([Type.Literal('admin'), Type.Literal('host')]),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const UpdateUserBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
    disabled: Type.Optional(Type.Boolean()),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type UpdateUserBody = Static<typeof UpdateUserBody>;

export const Room = Type.Object({
  id: Type.String(),
  name: Type.String(),
  ownerId: Type.String(),
  createdAt: IsoTime,
  /** Link a guest opens to join: /join/<id>?invite=<signed invite> */
  joinUrl: Type.String(),
  /** Participants connected right now. */
  participants: Type.Integer(),
  live: Type.Boolean(),
});
export type Room = Static<typeof Room>;

export const CreateRoomBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 80 }) },
  { additionalProperties: false },
);
export type CreateRoomBody = Static<typeof CreateRoomBody>;

export const RoomPreview = Type.Object({ id: Type.String(), name: Type.String(), participants: Type.Integer(), live: Type.Boolean() });
export type RoomPreview = Static<typeof RoomPreview>;

export const JoinRoomBody = Type.Object(
  {
    displayName: Type.String({ minLength: 1, maxLength: 60 }),
    /** Required for guests; signed-in hosts and admins join without one. */
    invite: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type JoinRoomBody = Static<typeof JoinRoomBody>;

export const JoinRoomReply = Type.Object({
  /** Short-lived token scoped to this room; sent first on the WebSocket. */
  token: Type.String(),
  room: RoomPreview,
  role: Role,
  expiresAt: IsoTime,
});
export type JoinRoomReply = Static<typeof JoinRoomReply>;

export const Destination = Type.Object({
  id: Type.String(),
  name: Type.String(),
  platform: Platform,
  serverUrl: Type.String(),
  /** The stream key is never sent back; this is e.g. ••••abcd */
  streamKeyMasked: Type.String(),
  /** rtmps:// only: publish even if the server's TLS certificate fails verification (private servers). */
  allowUntrustedCertificate: Type.Boolean(),
  /** The program it takes: the 16:9 one, or the vertical 9:16 one. */
  program: ProgramKind,
  createdAt: IsoTime,
});
export type Destination = Static<typeof Destination>;

export const CreateDestinationBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80 }),
    platform: Platform,
    serverUrl: Type.String({ minLength: 1, maxLength: 2048 }),
    streamKey: Type.String({ minLength: 1, maxLength: 512 }),
    /** Default false: an rtmps:// server must show a certificate trusted by this server. */
    allowUntrustedCertificate: Type.Optional(Type.Boolean()),
    /** Default 'landscape' (16:9). */
    program: Type.Optional(ProgramKind),
  },
  { additionalProperties: false },
);
export type CreateDestinationBody = Static<typeof CreateDestinationBody>;

export const UpdateDestinationBody = Type.Partial(CreateDestinationBody, { additionalProperties: false });
export type UpdateDestinationBody = Static<typeof UpdateDestinationBody>;

/** Test (preflight) a destination at the resolution a broadcast would use: `?resolution=1080p`. Default 720p. */
export const DestinationTestQuery = Type.Object({ resolution: Type.Optional(Resolution) }, { additionalProperties: false });
export type DestinationTestQuery = Static<typeof DestinationTestQuery>;

/** One ingest check of a Test, measured from what was sent; ok null when it could not be measured (nothing was sent). */
export const PreflightRule = Type.Object({
  rule: Type.String({ maxLength: 120 }),
  ok: Type.Union([Type.Boolean(), Type.Null()]),
  /** What was measured, in plain words. */
  detail: Type.String({ maxLength: 400 }),
});
export type PreflightRule = Static<typeof PreflightRule>;

export const DestinationTestReply = Type.Object({
  /** Every rule passed: the server took the stream and it is what the platform asks for. */
  ok: Type.Boolean(),
  /** Plain-word summary (the reason when it failed). */
  message: Type.String(),
  durationMs: Type.Integer(),
  resolution: Resolution,
  rules: Type.Array(PreflightRule, { maxItems: 12 }),
});
export type DestinationTestReply = Static<typeof DestinationTestReply>;

/** An event page's address: lower-case letters, digits and single hyphens, 3–64 characters. */
export const EVENT_SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,63}$';
export const EventSlug = Type.String({ minLength: 3, maxLength: 64, pattern: EVENT_SLUG_PATTERN });

export const WebinarStatus = Type.Union([
  Type.Literal('scheduled'),
  Type.Literal('live'),
  Type.Literal('ended'),
  Type.Literal('missed'),
  Type.Literal('cancelled'),
]);
export type WebinarStatus = Static<typeof WebinarStatus>;

const WebinarFields = {
  title: Type.String({ minLength: 1, maxLength: 120 }),
  description: Type.String({ maxLength: 4000 }),
  startsAt: IsoTime,
  endsAt: IsoTime,
  timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  hostIds: Type.Array(Type.String(), { minItems: 1, maxItems: 10, uniqueItems: true }),
  destinationIds: Type.Array(Type.String(), { maxItems: 8, uniqueItems: true }),
  layout: BroadcastLayout,
  resolution: Resolution,
  /** The vertical (9:16) program's layout and size, for destinations that take it and its recording. */
  verticalLayout: VerticalLayout,
  verticalResolution: Resolution,
  overlayTitle: Type.String({ maxLength: 120 }),
  autoStart: Type.Boolean(),
  autoStop: Type.Boolean(),
  record: Type.Boolean(),
  /** Also record the vertical (9:16) program, to a file of its own (it is then encoded for the whole broadcast). */
  recordVertical: Type.Boolean(),
  /** Guests who join land backstage (in the meeting, not in the program) until a host puts them on air; hosts start on air. */
  guestsStartBackstage: Type.Boolean(),
  /** Also publish the broadcast to its OnAir event page (HLS at /watch/<eventSlug>). */
  eventPage: Type.Boolean(),
  /** The event page's address; made from the title when left out; unique. */
  eventSlug: EventSlug,
  /** Only a signed link (POST /api/webinars/:id/event-link) opens the event page. */
  eventPrivate: Type.Boolean(),
};

export const CreateWebinarBody = Type.Object(
  {
    ...WebinarFields,
    description: Type.Optional(WebinarFields.description),
    hostIds: Type.Optional(WebinarFields.hostIds),
    layout: Type.Optional(BroadcastLayout),
    resolution: Type.Optional(Resolution),
    verticalLayout: Type.Optional(VerticalLayout),
    verticalResolution: Type.Optional(Resolution),
    overlayTitle: Type.Optional(WebinarFields.overlayTitle),
    autoStart: Type.Optional(Type.Boolean()),
    autoStop: Type.Optional(Type.Boolean()),
    record: Type.Optional(Type.Boolean()),
    recordVertical: Type.Optional(Type.Boolean()),
    guestsStartBackstage: Type.Optional(Type.Boolean()),
    eventPage: Type.Optional(Type.Boolean()),
    eventSlug: Type.Optional(EventSlug),
    eventPrivate: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateWebinarBody = Static<typeof CreateWebinarBody>;

export const UpdateWebinarBody = Type.Partial(Type.Object(WebinarFields), { additionalProperties: false });
export type UpdateWebinarBody = Static<typeof UpdateWebinarBody>;

export const Webinar = Type.Object({
  id: Type.String(),
  ...WebinarFields,
  roomId: Type.String(),
  status: WebinarStatus,
  createdAt: IsoTime,
  /** Join links: hosts sign in and open hostUrl; panelists use panelistUrl (a guest invite). */
  hostUrl: Type.String(),
  panelistUrl: Type.String(),
  /** Warnings that did not block saving (e.g. a stream key shared with an overlapping webinar). */
  warnings: Type.Array(Type.String()),
  /** The event page's address (a private one also needs the token of an event link). */
  eventUrl: Type.String(),
});
export type Webinar = Static<typeof Webinar>;

export const DestinationOutcome = Type.Object({
  destinationId: Type.String(),
  name: Type.String(),
  maskedUrl: Type.String(),
  /** Final state: stopped (clean), failed, ... */
  outcome: Type.String(),
  liveSeconds: Type.Number(),
  retries: Type.Integer(),
  errors: Type.Array(Type.String()),
  /** True when it was published over rtmps:// without verifying the certificate (its switch was on). */
  untrustedCertificate: Type.Optional(Type.Boolean()),
  /** Mean bitrate while it was live, in kb/s (absent for broadcasts older than this field, null if it never went live). */
  averageBitrateKbps: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  /** Why it stopped when neither a host nor the schedule stopped it, e.g. "The server shut down." */
  stopReason: Type.Optional(Type.String()),
  /** The program it took (absent for broadcasts older than this field: landscape). */
  program: Type.Optional(ProgramKind),
});
export type DestinationOutcome = Static<typeof DestinationOutcome>;

/**
 * A recording's life: written while live ('recording'), remuxed to MP4 when the broadcast ends
 * ('processing'), then 'ready' (MP4) or 'failed' (the remux failed; the FLV is kept and served),
 * or 'deleted' by an admin.
 */
export const RecordingState = Type.Union([
  Type.Literal('recording'),
  Type.Literal('processing'),
  Type.Literal('ready'),
  Type.Literal('failed'),
  Type.Literal('deleted'),
]);
export type RecordingState = Static<typeof RecordingState>;

export const Recording = Type.Object({
  id: Type.String(),
  broadcastId: Type.String(),
  state: RecordingState,
  /** The file served: mp4 once remuxed, flv while writing or when the remux failed. */
  format: Type.Union([Type.Literal('mp4'), Type.Literal('flv')]),
  fileName: Type.String(),
  bytes: Type.Integer({ minimum: 0 }),
  /** Length of the media in seconds, null until known. */
  durationSeconds: Type.Union([Type.Number(), Type.Null()]),
  /** Why the remux failed, in plain words; null otherwise. */
  error: Type.Union([Type.String(), Type.Null()]),
  /** The program recorded. */
  program: ProgramKind,
  createdAt: IsoTime,
});
export type Recording = Static<typeof Recording>;

/** A room's live broadcast with its recent health (GET /api/rooms/:id/broadcast), null when it is not live. */
export const RoomBroadcastReply = Type.Object({
  broadcast: Type.Union([BroadcastStatus, Type.Null()]),
  /**
   * The meeting is open (people in it, or held by its schedule): a preview token's session can
   * connect now and is told the moment a program starts. Left out by the logo routes.
   */
  roomOpen: Type.Optional(Type.Boolean()),
});
export type RoomBroadcastReply = Static<typeof RoomBroadcastReply>;

/**
 * Watching the room's program preview from the dashboard: a short-lived token for the WebSocket
 * (`authenticate` with it opens a receive-only session that never joins the meeting).
 */
export const PreviewTokenReply = Type.Object({ token: Type.String(), expiresAt: IsoTime }, { additionalProperties: false });
export type PreviewTokenReply = Static<typeof PreviewTokenReply>;

/** A room's stored logo: its corner and the PNG as a data URL (at most LOGO_MAX_BYTES), or null. */
export const RoomLogoReply = Type.Object({
  logo: Type.Union([
    Type.Object({ corner: LogoCorner, bytes: Type.Integer(), updatedAt: Type.String(), dataUrl: Type.String() }),
    Type.Null(),
  ]),
});
export type RoomLogoReply = Static<typeof RoomLogoReply>;

/** Where the logo goes: the query of PUT …/broadcast/logo, and the body of PATCH …/broadcast/logo. */
export const LogoCornerBody = Type.Object({ corner: LogoCorner }, { additionalProperties: false });
export type LogoCornerBody = Static<typeof LogoCornerBody>;
export const LogoUploadQuery = Type.Object({ corner: Type.Optional(LogoCorner) }, { additionalProperties: false });

/** A download link for one recording: `GET url` (range requests allowed) until `expiresAt`, no header needed. */
export const RecordingLink = Type.Object({ url: Type.String(), expiresAt: IsoTime });
export type RecordingLink = Static<typeof RecordingLink>;

export const BroadcastRecord = Type.Object({
  id: Type.String(),
  roomId: Type.String(),
  roomName: Type.String(),
  webinarId: Type.Union([Type.String(), Type.Null()]),
  trigger: Type.Union([Type.Literal('manual'), Type.Literal('scheduled')]),
  startedAt: IsoTime,
  stoppedAt: Type.Union([IsoTime, Type.Null()]),
  state: Type.String(),
  recordingFile: Type.Union([Type.String(), Type.Null()]),
  destinations: Type.Array(DestinationOutcome),
  recordings: Type.Array(Recording, { maxItems: 16 }),
});
export type BroadcastRecord = Static<typeof BroadcastRecord>;

/** One attempt to deliver an event to a webhook endpoint. */
export const WebhookDelivery = Type.Object({
  id: Type.String(),
  /** The event's id (the same for every attempt of one event). */
  eventId: Type.String(),
  event: Type.String(),
  /** 1 for the first try, 2 for the first retry, … */
  attempt: Type.Integer({ minimum: 1 }),
  ok: Type.Boolean(),
  /** The endpoint's HTTP status, null when it never answered. */
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  /** Why it failed, in plain words; null when it succeeded. */
  error: Type.Union([Type.String(), Type.Null()]),
  latencyMs: Type.Union([Type.Integer(), Type.Null()]),
  /** Another attempt is scheduled. */
  willRetry: Type.Boolean(),
  at: IsoTime,
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  /** The signing secret is only shown on creation, reveal or rotation; this is e.g. whsec_••••abcd */
  secretMasked: Type.String(),
  createdAt: IsoTime,
  /** Newest first. */
  deliveries: Type.Array(WebhookDelivery, { maxItems: 50 }),
});
export type Webhook = Static<typeof Webhook>;

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    description: Type.Optional(Type.String({ maxLength: 200 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

/** The endpoint's signing secret, in full (creation, reveal, rotation only). */
export const WebhookSecretReply = Type.Object({ secret: Type.String() });
export type WebhookSecretReply = Static<typeof WebhookSecretReply>;

export const CreateWebhookReply = Type.Object({ webhook: Webhook, secret: Type.String() });
export type CreateWebhookReply = Static<typeof CreateWebhookReply>;

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export type IdParams = Static<typeof IdParams>;

/** What a viewer's page shows: 'soon' until the broadcast plays, 'live' while it does, 'ended' after. */
export const EventPageState = Type.Union([Type.Literal('soon'), Type.Literal('live'), Type.Literal('ended')]);
export type EventPageState = Static<typeof EventPageState>;

export const EventPageParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 64 }) });
export type EventPageParams = Static<typeof EventPageParams>;

export const EventFileParams = Type.Object({
  slug: Type.String({ minLength: 1, maxLength: 64 }),
  file: Type.String({ minLength: 1, maxLength: 64 }),
});
export type EventFileParams = Static<typeof EventFileParams>;

/** A viewer's poll: `viewer` is the page's random id (kept across reloads, so it counts once); `token` opens a private page. */
export const EventPageQuery = Type.Object(
  {
    viewer: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' })),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type EventPageQuery = Static<typeof EventPageQuery>;

export const EventFileQuery = Type.Object({ token: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })) }, { additionalProperties: false });

export const EventPageInfo = Type.Object(
  {
    slug: Type.String(),
    title: Type.String(),
    description: Type.String(),
    /** The scheduled start (a webinar's), null for a plain room's page. */
    startsAt: Type.Union([IsoTime, Type.Null()]),
    state: EventPageState,
    /** Pages open now (each polled within the last seconds). */
    viewers: Type.Integer({ minimum: 0 }),
    /** The HLS playlist while live (with the token of a private page), else null. */
    playlistUrl: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type EventPageInfo = Static<typeof EventPageInfo>;

/** A new signed link to a private event page; making one revokes every earlier link. */
export const EventLinkBody = Type.Object(
  { expiresInHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 90 })) },
  { additionalProperties: false },
);
export type EventLinkBody = Static<typeof EventLinkBody>;
export const EventLink = Type.Object({ url: Type.String(), expiresAt: IsoTime });
export type EventLink = Static<typeof EventLink>;
/** What an ingest source is doing: nobody publishing (idle), or its participant's state in the room. */
export const IngestSourceState = Type.Union([Type.Literal('idle'), Type.Literal('connecting'), Type.Literal('live'), Type.Literal('reconnecting')]);
export type IngestSourceState = Static<typeof IngestSourceState>;

/**
 * An RTMP/RTMPS ingest source of a room: an encoder (OBS, a hardware encoder) publishes to
 * `serverUrl` with the stream key and appears in the meeting as a participant named `name`.
 */
export const IngestSource = Type.Object(
  {
    id: Type.String(),
    roomId: Type.String(),
    name: Type.String(),
    /** e.g. rtmp://onair.example.org/live; null when the server's RTMP listener is off (INGEST_RTMP_PORT=0). */
    serverUrl: Type.Union([Type.String(), Type.Null()]),
    /** e.g. rtmps://onair.example.org:1936/live; null without RTMPS (INGEST_TLS_CERT/INGEST_TLS_KEY). */
    secureServerUrl: Type.Union([Type.String(), Type.Null()]),
    /** The stream key is shown only by reveal; this is e.g. ••••abcd */
    streamKeyMasked: Type.String(),
    state: IngestSourceState,
    /** The last refusal or failure of a publish with its key, in plain words; cleared when a publish goes live. */
    error: Type.Union([Type.String(), Type.Null()]),
    createdBy: Type.String(),
    createdAt: IsoTime,
  },
  { additionalProperties: false },
);
export type IngestSource = Static<typeof IngestSource>;

export const CreateIngestSourceBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
export type CreateIngestSourceBody = Static<typeof CreateIngestSourceBody>;

/** The stream key in full (reveal and rotation only). */
export const IngestKeyReply = Type.Object({ streamKey: Type.String() }, { additionalProperties: false });
export type IngestKeyReply = Static<typeof IngestKeyReply>;

export const IngestSourceParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), sourceId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export type IngestSourceParams = Static<typeof IngestSourceParams>;
