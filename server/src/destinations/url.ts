import { AppError } from '../errors.js';

const bad = (message: string): AppError => new AppError('INVALID_RTMP_URL', message);

/**
 * Checks a server URL as platforms hand it out (rtmp://host[:port]/app[/...] or rtmps://...) and
 * returns it parsed; throws INVALID_RTMP_URL with a message a person can act on.
 */
export function validateRtmpUrl(serverUrl: string): URL {
  const text = serverUrl.trim();
  if (text === '') throw bad('Enter the server URL your platform shows, for example rtmp://a.rtmp.youtube.com/live2.');
  if (/\s/.test(text)) throw bad('The server URL must not contain spaces.');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (!scheme) throw bad('The server URL must start with rtmp:// or rtmps://.');
  if (scheme !== 'rtmp' && scheme !== 'rtmps') {
    throw bad(`The server URL must start with rtmp:// or rtmps:// (it starts with ${scheme}://).`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('The server URL is not a valid address.');
  }
  if (!text.slice(scheme.length + 1).startsWith('//') || url.hostname === '') {
    throw bad('The server URL has no host name (expected rtmp://host/application).');
  }
  if (url.username || url.password) throw bad('The server URL must not contain a user name or password.');
  if (url.port !== '') {
    const port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('The port in the server URL is not valid.');
  }
  if (url.pathname.split('/').filter(Boolean).length === 0) {
    throw bad('The server URL has no application path (for example /live2 or /app after the host).');
  }
  if (url.hash) throw bad('The server URL must not contain #.');
  return url;
}

function trimTrailingSlash(serverUrl: string): string {
  return serverUrl.trim().replace(/\/+$/, '');
}

/** The URL ffmpeg publishes to: server URL + '/' + stream key (the key as given; an empty key means the URL already holds it). */
export function buildPublishUrl(serverUrl: string, streamKey: string): string {
  validateRtmpUrl(serverUrl);
  const key = streamKey.trim().replace(/^\/+/, '');
  return key === '' ? trimTrailingSlash(serverUrl) : `${trimTrailingSlash(serverUrl)}/${key}`;
}

/** `••••` and the last 4 characters of the key (nothing of keys of 4 characters or fewer). */
export function maskStreamKey(streamKey: string): string {
  const key = streamKey.trim();
  return key.length > 4 ? `••••${key.slice(-4)}` : '••••';
}

/** The publish URL as shown to people, e.g. rtmp://a.rtmp.youtube.com/live2/••••abcd. */
export function maskedUrl(serverUrl: string, streamKey: string): string {
  const server = trimTrailingSlash(serverUrl);
  if (streamKey.trim() !== '') return `${server}/${maskStreamKey(streamKey)}`;
  // No separate key: the last path segment of the URL is the key.
  const slash = server.lastIndexOf('/');
  return `${server.slice(0, slash)}/${maskStreamKey(server.slice(slash + 1))}`;
}

/** Host (and port when given) of a server URL, for messages; '' when it cannot be parsed. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** What an RTMP client needs from a publish URL to connect and publish. */
export interface RtmpEndpoint {
  /** rtmps:// (TLS) rather than rtmp://. */
  secure: boolean;
  /** Host name or IP address to connect to (IPv6 without brackets). */
  hostname: string;
  /** Default 1935 for rtmp://, 443 for rtmps://. */
  port: number;
  /** host[:port] as written, for messages. */
  host: string;
  /** The application: every path segment but the last (e.g. live2, or live/channel-id). */
  app: string;
  /** scheme://host[:port]/app, sent in connect. */
  tcUrl: string;
  /** The last path segment and the query string: the stream key. Secret. */
  streamName: string;
}

/**
 * Splits a publish URL (buildPublishUrl's result) the way OBS does: the server URL's path is the
 * application, the key after it (with any ?query, e.g. Facebook's) is the stream name.
 */
export function parsePublishUrl(publishUrl: string): RtmpEndpoint {
  const match = /^(rtmps?):\/\/([^/?#]+)\/([^#]*)$/i.exec(publishUrl.trim());
  if (!match) throw new AppError('INVALID_RTMP_URL', 'The publish URL must look like rtmp://host/application/key.');
  const scheme = (match[1] ?? 'rtmp').toLowerCase();
  const authority = match[2] ?? '';
  const rest = match[3] ?? '';
  const query = rest.indexOf('?');
  const path = query < 0 ? rest : rest.slice(0, query);
  const slash = path.lastIndexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new AppError('INVALID_RTMP_URL', 'The publish URL has no application or no stream key.');
  const url = new URL(`${scheme}://${authority}`);
  const secure = scheme === 'rtmps';
  const app = path.slice(0, slash);
  return {
    secure,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 443 : 1935,
    host: url.host,
    app,
    tcUrl: `${scheme}://${url.host}/${app}`,
    streamName: path.slice(slash + 1) + (query < 0 ? '' : rest.slice(query)),
  };
}
