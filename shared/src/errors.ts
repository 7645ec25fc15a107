/**
 * Error codes shared by the REST API and the signalling protocol. The server answers every
 * failure with one of these; the client maps them to words a person understands.
 */
export const ErrorCodes = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  BAD_MESSAGE: 400,
  MESSAGE_TOO_LARGE: 413,
  UNKNOWN_MESSAGE: 400,
  INVALID_RTMP_URL: 400,
  INVALID_WEBHOOK_URL: 400,
  /** A camera URL that is not a valid rtsp:// or rtsps:// address. */
  INVALID_RTSP_URL: 400,
  SCHEDULE_INVALID: 400,
  UNKNOWN_DESTINATION: 400,
  UNKNOWN_USER: 400,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_INVALID: 401,
  BAD_CREDENTIALS: 401,
  INVITE_INVALID: 401,
  FORBIDDEN: 403,
  WRONG_ROOM: 403,
  USER_DISABLED: 403,
  NOT_AUTHENTICATED: 401,
  /** The account was disabled, deleted or its password changed: its sessions end now. */
  SESSION_REVOKED: 401,
  NOT_JOINED: 409,
  ALREADY_JOINED: 409,
  ROOM_NOT_FOUND: 404,
  ROOM_CLOSED: 410,
  NOT_FOUND: 404,
  TRANSPORT_NOT_FOUND: 404,
  PRODUCER_NOT_FOUND: 404,
  CONSUMER_NOT_FOUND: 404,
  PEER_NOT_FOUND: 404,
  DESTINATION_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  CAMERA_NOT_FOUND: 404,
  INGEST_SOURCE_NOT_FOUND: 404,
  /** The webhook's signing secret was sealed with another master secret: rotate it. */
  WEBHOOK_SECRET_UNREADABLE: 409,
  WEBINAR_NOT_FOUND: 404,
  /** No event page at this address (/watch/<slug>). */
  EVENT_NOT_FOUND: 404,
  /** A private event page opened without its signed link. */
  EVENT_PRIVATE: 401,
  /** The event page's signed link has expired. */
  EVENT_LINK_EXPIRED: 401,
  /** The link is forged, for another event, or was replaced by a newer one. */
  EVENT_LINK_INVALID: 401,
  /** The slug is taken by another event page. */
  SLUG_TAKEN: 409,
  USER_NOT_FOUND: 404,
  EMAIL_TAKEN: 409,
  STREAM_KEY_CONFLICT: 409,
  DESTINATION_IN_USE: 409,
  /** Saved under another master secret: enter the key again. */
  STREAM_KEY_UNREADABLE: 409,
  /** The camera's credentials were sealed with another master secret: enter them again. */
  CAMERA_CREDENTIALS_UNREADABLE: 409,
  CANNOT_DISABLE_SELF: 409,
  ALREADY_LIVE: 409,
  NOT_LIVE: 409,
  /** A logo that is not a PNG image (or one ffmpeg cannot decode). */
  LOGO_INVALID: 400,
  LOGO_TOO_LARGE: 413,
  /** The room has no logo (moving a logo that was never uploaded). */
  LOGO_NOT_FOUND: 404,
  CANNOT_CONSUME: 409,
  /** The recording is still being written or converted. */
  RECORDING_NOT_READY: 409,
  REPLACED: 409,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  MEDIA_UNAVAILABLE: 503,
  /** The server is shutting down or restarting: clients reconnect rather than leave. */
  SERVER_RESTARTING: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorCodes, value);
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
