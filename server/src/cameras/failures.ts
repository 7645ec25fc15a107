import type { CameraAddress } from './url.js';

/** Why a camera could not be pulled, as a code (for tests and metrics) and words for the dashboard. */
export interface CameraFailure {
  code:
    | 'unauthorized'
    | 'forbidden'
    | 'not_found'
    | 'refused'
    | 'unknown_host'
    | 'unreachable'
    | 'timeout'
    | 'tls'
    | 'not_rtsp'
    | 'unsupported_codec'
    | 'no_video'
    | 'ended'
    | 'credentials_unreadable'
    | 'other';
  message: string;
}

/** Patterns over ffmpeg's stderr (Debian ffmpeg 5.1 wordings), first match wins. */
const RULES: Array<{ test: RegExp; failure: (a: CameraAddress) => CameraFailure }> = [
  { test: /401 Unauthorized|authorization failed/i, failure: () => ({ code: 'unauthorized', message: 'The camera refused the user name or password.' }) },
  { test: /403 Forbidden/i, failure: () => ({ code: 'forbidden', message: 'The camera refused access to this stream (403 Forbidden): check the user’s rights on the camera.' }) },
  { test: /404 Not Found|454 Session Not Found/i, failure: () => ({ code: 'not_found', message: 'The camera has no stream at this path (404 Not Found): check the path in the URL.' }) },
  { test: /Connection refused/i, failure: (a) => ({ code: 'refused', message: `Nothing answers at ${a.hostname}:${a.port}: check the camera is on and the port is right.` }) },
  {
    test: /Failed to resolve hostname|Name or service not known|Temporary failure in name resolution|No address associated/i,
    failure: (a) => ({ code: 'unknown_host', message: `The host name ${a.hostname} could not be found: check it for typing mistakes.` }),
  },
  { test: /No route to host|Network is unreachable|Host is unreachable/i, failure: (a) => ({ code: 'unreachable', message: `${a.hostname} cannot be reached from this server (no route to it).` }) },
  {
    test: /timed out|Connection timeout|Operation timed out|ETIMEDOUT/i,
    failure: (a) => ({ code: 'timeout', message: `The camera at ${a.hostname}:${a.port} did not answer in time.` }),
  },
  {
    test: /TLS|SSL|certificate|handshake|gnutls/i,
    failure: (a) => ({ code: 'tls', message: `The secure (rtsps://) connection to ${a.hostname}:${a.port} failed: the camera may not speak TLS on this port.` }),
  },
  {
    test: /Unsupported codec|codec not currently supported|Could not find codec parameters|unknown codec|Decoder \(codec .*\) not found/i,
    failure: () => ({ code: 'unsupported_codec', message: 'The camera sends video in a format OnAir cannot read: set it to H.264 in the camera’s settings.' }),
  },
  {
    test: /Output file #0 does not contain any stream|matches no streams|no video stream/i,
    failure: () => ({ code: 'no_video', message: 'The camera sends no video on this stream.' }),
  },
  {
    test: /Invalid data found when processing input|method (DESCRIBE|OPTIONS) failed|Invalid RTSP|Protocol not found|not on whitelist/i,
    failure: (a) => ({ code: 'not_rtsp', message: `What answers at ${a.hostname}:${a.port} does not speak RTSP: check the URL and port.` }),
  },
];

/**
 * Turns ffmpeg's last stderr lines (already redacted) into plain words. `wasLive`: the camera had
 * been sending, so a clean end means it stopped rather than never started.
 */
export function classifyCameraFailure(stderr: readonly string[], address: CameraAddress, wasLive = false): CameraFailure {
  const text = stderr.join('\n');
  for (const rule of RULES) if (rule.test.test(text)) return rule.failure(address);
  if (wasLive) return { code: 'ended', message: `The camera at ${address.hostname}:${address.port} stopped sending.` };
  const last = stderr.filter((l) => l.trim() !== '').at(-1)?.trim();
  return { code: 'other', message: `The camera could not be read${last ? ` (ffmpeg: ${last.slice(0, 200)})` : ''}.` };
}
