import type { CameraTransport } from '@onair/shared';
import { AppError } from '../errors.js';
// The shape is storage's (persistence/cameras.ts keeps it encrypted), so storage needs nothing from cameras/.
import type { CameraCredentials } from '../persistence/cameras.js';

export type { CameraCredentials };

/** Every message names the field, as the schema errors do ("url must …"). */
const bad = (message: string): AppError => new AppError('INVALID_RTSP_URL', `url ${message}`);

/** A camera URL resolved once: the address without credentials, and the credentials apart. */
export interface CameraAddress {
  /** rtsp[s]://host[:port]/path[?query], no user name or password. */
  url: string;
  /** host[:port] as written, for messages ("Nothing answers at 10.0.0.5:554"). */
  host: string;
  /** Host name or IP (IPv6 without brackets). */
  hostname: string;
  /** The port OnAir connects to (554 for rtsp://, 322 for rtsps:// unless given). */
  port: number;
  secure: boolean;
}


/**
 * Checks a camera URL (rtsp:// or rtsps:// only) and splits any user name and password out of it
 * (percent-decoded); throws INVALID_RTSP_URL with words that name the field and what to fix.
 */
export function parseCameraUrl(input: string): { address: CameraAddress; credentials: CameraCredentials | null } {
  const text = input.trim();
  if (text === '') throw bad('must not be empty: enter the camera address, for example rtsp://192.168.1.20:554/stream1.');
  if (/\s/.test(text)) throw bad('must not contain spaces.');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (!scheme) throw bad('must start with rtsp:// or rtsps://, for example rtsp://192.168.1.20:554/stream1.');
  if (scheme !== 'rtsp' && scheme !== 'rtsps') throw bad(`must start with rtsp:// or rtsps:// (it starts with ${scheme}:).`);
  if (!text.slice(scheme.length + 1).startsWith('//')) throw bad(`must have // after ${scheme}: (rtsp://host/path).`);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw bad('is not a valid address: check it for typing mistakes.');
  }
  if (parsed.hostname === '') throw bad('has no host name (expected rtsp://host[:port]/path).');
  if (parsed.hash !== '' || text.endsWith('#')) throw bad('must not contain #.');
  const secure = scheme === 'rtsps';
  const port = parsed.port === '' ? (secure ? 322 : 554) : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('has a port that is not valid (1-65535).');
  let credentials: CameraCredentials | null = null;
  if (parsed.username !== '' || parsed.password !== '') {
    try {
      credentials = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
    } catch {
      throw bad('has a user name or password with a broken %-escape.');
    }
  }
  parsed.username = '';
  parsed.password = '';
  return {
    address: { url: parsed.toString(), host: parsed.host, hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port, secure },
    credentials,
  };
}

/** Percent-encodes everything but unreserved characters (encodeURIComponent leaves !'()* as is). */
const encodeUserinfo = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The URL with the credentials put back (what ffmpeg connects to: secret, never logged or shown). */
export function withCredentials(url: string, credentials: CameraCredentials | null): string {
  if (!credentials || (credentials.username === '' && credentials.password === '')) return url;
  const match = /^(rtsps?:\/\/)(.*)$/i.exec(url);
  if (!match) throw new AppError('INVALID_RTSP_URL', 'url must start with rtsp:// or rtsps://.');
  const userinfo = credentials.password === '' ? encodeUserinfo(credentials.username) : `${encodeUserinfo(credentials.username)}:${encodeUserinfo(credentials.password)}`;
  return `${match[1]}${userinfo}@${match[2]}`;
}

/** The URL as people see it: rtsp://••••:••••@host:554/path when it has credentials. */
export function maskCameraUrl(url: string, hasCredentials: boolean): string {
  return hasCredentials ? url.replace(/^(rtsps?:\/\/)/i, '$1••••:••••@') : url;
}

/** Quotes a string for an ffconcat script: inside '…', a ' becomes '\'' (ffmpeg's quoting rules). */
const ffconcatQuote = (value: string): string => `'${value.replace(/'/g, "'\\''")}'`;

/** Socket timeout for the camera's connection and reads (ffmpeg's rtsp `timeout`, µs). Default 5 s. */
export const CAMERA_IO_TIMEOUT_US = 5_000_000;

/**
 * What ffmpeg reads the camera from. The URL with its credentials is not in ffmpeg's arguments
 * (any local user can read /proc/<pid>/cmdline) nor its environment: ffmpeg opens an ffconcat
 * script on stdin that names the one input and its RTSP options. Measured: the concat demuxer
 * adds no buffering to a live RTSP input (see bench/ingest.ts).
 */
export function cameraInput(url: string, credentials: CameraCredentials | null, transport: CameraTransport): { args: string[]; stdin: string } {
  const script = [
    'ffconcat version 1.0',
    `file ${ffconcatQuote(withCredentials(url, credentials))}`,
    `option rtsp_transport ${transport}`,
    `option timeout ${CAMERA_IO_TIMEOUT_US}`,
    // Start on the first frames rather than buffering seconds of them to probe.
    'option probesize 500000',
    'option analyzeduration 1000000',
    'option fflags nobuffer',
    '',
  ].join('\n');
  return {
    args: ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'pipe,rtsp,rtsps,rtp,srtp,udp,tcp,tls,crypto', '-i', 'pipe:0'],
    stdin: script,
  };
}
