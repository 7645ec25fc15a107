/** IP cameras a room pulls over RTSP/RTSPS (REST schemas and their live state). */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const IsoTime = Type.String({ format: 'date-time', maxLength: 64 });

/** How RTP reaches OnAir: interleaved in the RTSP TCP connection (the default: passes NATs and firewalls) or over UDP. */
export const CameraTransport = Type.Union([Type.Literal('tcp'), Type.Literal('udp')]);
export type CameraTransport = Static<typeof CameraTransport>;

/**
 * A camera's pull, as the dashboard shows it: `idle` while its room is closed (nobody in it and
 * not live), `connecting`, `live` (its picture reaches the room), `retrying` (the last attempt
 * failed; `lastError` says why, `nextAttemptAt` when the next one starts).
 */
export const CameraState = Type.Union([Type.Literal('idle'), Type.Literal('connecting'), Type.Literal('live'), Type.Literal('retrying')]);
export type CameraState = Static<typeof CameraState>;

export const CameraStatus = Type.Object({
  state: CameraState,
  /** The last failure in plain words (e.g. "The camera refused the user name or password."), null when none. */
  lastError: Nullable(Type.String()),
  /** ISO time of the next attempt while retrying, else null. */
  nextAttemptAt: Nullable(IsoTime),
  /** ISO time the picture last went live, null if it has not since the room opened. */
  liveSince: Nullable(IsoTime),
  /** Failed attempts in a row. */
  retries: Type.Integer(),
  /** What reaches the room: 'passthrough' (the camera's H.264 as is) or 'transcode' (re-encoded); null until live. */
  video: Nullable(Type.Union([Type.Literal('passthrough'), Type.Literal('transcode')])),
});
export type CameraStatus = Static<typeof CameraStatus>;

export const Camera = Type.Object({
  id: Type.String(),
  roomId: Type.String(),
  /** Shown to everyone in the room, e.g. "Stage camera". */
  name: Type.String(),
  /** The URL with any user name and password masked: rtsp://••••:••••@10.0.0.5:554/stream1 */
  url: Type.String(),
  /** Whether a user name / password is stored (encrypted, never sent back). */
  hasCredentials: Type.Boolean(),
  transport: CameraTransport,
  createdAt: IsoTime,
  status: CameraStatus,
});
export type Camera = Static<typeof Camera>;

export const CreateCameraBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80 }),
    /** rtsp:// or rtsps://; a user name and password in it are split out and stored encrypted. */
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    /** Instead of (or overriding) those in the URL. An empty password with a user name is allowed. */
    username: Type.Optional(Type.String({ maxLength: 256 })),
    password: Type.Optional(Type.String({ maxLength: 256 })),
    /** Default 'tcp'. */
    transport: Type.Optional(CameraTransport),
  },
  { additionalProperties: false },
);
export type CreateCameraBody = Static<typeof CreateCameraBody>;

/**
 * A new `url` without credentials keeps the stored ones unless `username`/`password` are given;
 * `username: ""` removes them.
 */
export const UpdateCameraBody = Type.Partial(CreateCameraBody, { additionalProperties: false });
export type UpdateCameraBody = Static<typeof UpdateCameraBody>;

export const CameraParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), cameraId: Type.String({ minLength: 1, maxLength: 64 }) });
export type CameraParams = Static<typeof CameraParams>;
