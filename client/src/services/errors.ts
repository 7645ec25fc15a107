/**
 * One place that turns error codes (server codes from @onair/shared and a few the client raises
 * itself) and browser media errors into words a person understands.
 */
import type { ErrorCode } from '@onair/shared';

/** Failures the client detects itself; the server never sends these. */
export type ClientErrorCode =
  | 'CONNECTION_LOST'
  | 'RECONNECT_FAILED'
  | 'TIMEOUT'
  | 'NETWORK'
  | 'BAD_REPLY'
  | 'INVITE_EXPIRED'
  | 'UNSUPPORTED_BROWSER'
  | 'MEDIA_FAILED';

const WORDS: Record<ErrorCode | ClientErrorCode, string> = {
  BAD_REQUEST: "Something in that request wasn't right. Check the form and try again.",
  VALIDATION_FAILED: "Some of those details aren't valid. Check the form and try again.",
  BAD_MESSAGE: "The meeting server couldn't understand this page. Reload and try again.",
  MESSAGE_TOO_LARGE: 'That was too much to send at once.',
  UNKNOWN_MESSAGE: 'This page is out of date. Reload it and try again.',
  INVALID_RTMP_URL: "That streaming server address isn't valid.",
  INVALID_WEBHOOK_URL: "That webhook address isn't valid. It must start with http:// or https://.",
  INVALID_RTSP_URL: "That camera address isn't valid. It must start with rtsp:// or rtsps://.",
  SCHEDULE_INVALID: "That schedule isn't valid. Check the start and end times.",
  UNKNOWN_DESTINATION: 'One of the chosen destinations no longer exists. Reload and choose again.',
  UNKNOWN_USER: 'One of the chosen people no longer has an account.',
  UNAUTHENTICATED: 'Please sign in to continue.',
  TOKEN_EXPIRED: 'Your access to this meeting has expired. Join again.',
  TOKEN_INVALID: 'Your access to this meeting is not valid. Open the link again.',
  BAD_CREDENTIALS: "That email and password don't match an account.",
  INVITE_INVALID: 'This invitation link is not valid. Ask the host for a new link.',
  FORBIDDEN: "You don't have permission to do that.",
  WRONG_ROOM: 'Your access is for a different meeting. Open the link again.',
  USER_DISABLED: 'This account has been disabled. Contact your administrator.',
  SESSION_REVOKED: 'You were signed out: your account was disabled or deleted, or its password changed. Sign in again.',
  NOT_AUTHENTICATED: "The meeting connection wasn't set up correctly. Reload and try again.",
  NOT_JOINED: "You're not in the meeting yet.",
  ALREADY_JOINED: "You're already in this meeting in another window.",
  ROOM_NOT_FOUND: "This meeting doesn't exist or has ended.",
  ROOM_CLOSED: 'This meeting has ended.',
  SERVER_RESTARTING: 'The server is restarting. Reconnecting…',
  NOT_FOUND: "That couldn't be found. It may have been deleted.",
  TRANSPORT_NOT_FOUND: 'The media connection got out of step. Leave and join again.',
  PRODUCER_NOT_FOUND: 'The media connection got out of step. Leave and join again.',
  CONSUMER_NOT_FOUND: 'The media connection got out of step. Leave and join again.',
  PEER_NOT_FOUND: 'That participant has left the meeting.',
  DESTINATION_NOT_FOUND: 'That streaming destination no longer exists.',
  WEBHOOK_NOT_FOUND: 'That webhook no longer exists.',
  CAMERA_NOT_FOUND: 'That camera no longer exists.',
  CAMERA_CREDENTIALS_UNREADABLE: "That camera's user name and password can't be read any more (the server's secret changed). Enter them again.",
  INGEST_SOURCE_NOT_FOUND: 'That ingest source no longer exists.',
  WEBHOOK_SECRET_UNREADABLE: "This webhook's signing secret can't be read (the server's master secret changed). Rotate it to make a new one.",
  WEBINAR_NOT_FOUND: 'That webinar no longer exists.',
  EVENT_NOT_FOUND: 'There is no event at this address. Check the link you were given.',
  EVENT_PRIVATE: 'This event is private: open it with the link the organiser sent you.',
  EVENT_LINK_EXPIRED: 'This link to the event has expired. Ask the organiser for a new link.',
  EVENT_LINK_INVALID: 'This link to the event is not valid (it may have been replaced by a newer one). Ask the organiser for a new link.',
  SLUG_TAKEN: 'That event page address is already used by another event. Pick another one.',
  USER_NOT_FOUND: 'That user no longer exists.',
  EMAIL_TAKEN: 'An account with that email already exists.',
  STREAM_KEY_CONFLICT: 'That stream key is already in use by another live broadcast.',
  STREAM_KEY_UNREADABLE: "That destination's stream key can't be read any more (the server's secret changed). Enter the key again.",
  DESTINATION_IN_USE: 'That destination is in use by a live broadcast or a scheduled webinar.',
  CANNOT_DISABLE_SELF: "You can't disable your own account.",
  ALREADY_LIVE: 'This meeting is already live.',
  NOT_LIVE: "This meeting isn't live.",
  LOGO_INVALID: 'The logo must be a PNG image that opens. Save it again as PNG and try again.',
  LOGO_TOO_LARGE: 'The logo file is too large: it can be at most 512 kB.',
  LOGO_NOT_FOUND: 'This room has no logo yet. Upload a PNG first.',
  CANNOT_CONSUME: "Your browser can't play one of the streams in this meeting.",
  RECORDING_NOT_READY: "This recording isn't ready yet. It can be downloaded once the broadcast has ended and it has been converted.",
  REPLACED: 'You joined this meeting from another tab or device, so this one was disconnected.',
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  INTERNAL: 'Something went wrong on our side. Try again in a moment.',
  MEDIA_UNAVAILABLE: 'The media server is busy or unavailable. Try again in a moment.',
  CONNECTION_LOST: 'Connection lost. Reconnecting…',
  RECONNECT_FAILED: "We couldn't reconnect to the meeting. Check your connection and join again.",
  TIMEOUT: 'The server took too long to answer. Try again.',
  NETWORK: "Can't reach the server. Check your connection and try again.",
  BAD_REPLY: "The server sent a reply this page doesn't understand. Reload and try again.",
  INVITE_EXPIRED: 'Your invitation has expired. Open the link again.',
  UNSUPPORTED_BROWSER: "This browser can't join meetings. Use a recent Chrome, Edge, Firefox or Safari.",
  MEDIA_FAILED: "Your camera or microphone couldn't be started.",
};

/** Codes whose server message says more than these words can: how long to wait ("Try again in 14 minutes."), what is wrong with a camera URL. */
const SERVER_WORDS: ReadonlySet<string> = new Set<ErrorCode>(['RATE_LIMITED', 'INVALID_RTSP_URL']);

/** Plain words for an error code; unknown codes and SERVER_WORDS use the server's own message if any. */
export function errorWords(code: string, serverMessage?: string): string {
  const fromServer = serverMessage !== undefined && serverMessage.length > 0 ? serverMessage : null;
  if (fromServer && SERVER_WORDS.has(code)) return fromServer;
  if (isKnownCode(code)) return WORDS[code];
  return fromServer ?? WORDS.INTERNAL;
}

function isKnownCode(code: string): code is keyof typeof WORDS {
  return Object.prototype.hasOwnProperty.call(WORDS, code);
}

/** An error that carries a code; both ApiError and SignalError are one. */
export interface CodedError {
  code: string;
  message: string;
}

export function isCodedError(err: unknown): err is CodedError {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    typeof err.code === 'string' &&
    'message' in err &&
    typeof err.message === 'string'
  );
}

/** Words for anything thrown: coded errors by code, media errors by name, the rest generically. */
export function describeError(err: unknown): string {
  if (err instanceof DOMException) return mediaErrorWords(err);
  if (isCodedError(err)) return errorWords(err.code, err.message);
  return WORDS.INTERNAL;
}

/** What a getUserMedia/getDisplayMedia failure means for the person at the keyboard. */
export function mediaErrorWords(err: unknown, what: 'devices' | 'screen' = 'devices'): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : '';
  if (what === 'screen') {
    switch (name) {
      case 'NotAllowedError':
        return 'Screen sharing was cancelled or is blocked by the browser.';
      case 'NotReadableError':
      case 'AbortError':
        return "Your screen couldn't be captured. Try sharing a different window or tab.";
      case 'NotSupportedError':
      case 'TypeError':
        return "This browser can't share your screen.";
      default:
        return "Screen sharing couldn't start.";
    }
  }
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return "Camera or microphone access is blocked. Allow it in the browser's site settings and try again.";
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return 'No camera or microphone was found.';
    case 'NotReadableError':
    case 'TrackStartError':
      return 'Your camera or microphone is in use by another app.';
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return "The selected camera or microphone can't be used. Choose another one.";
    case 'AbortError':
      return "Your camera or microphone stopped unexpectedly. Try again.";
    case 'TypeError':
      return 'Camera and microphone need a secure (https) connection.';
    default:
      return WORDS.MEDIA_FAILED;
  }
}
