import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { cpus } from 'node:os';
import { resolve } from 'node:path';

/** Everything OnAir reads from its environment, validated once at boot. */
export interface Config {
  host: string;
  port: number;
  /** Base of the links OnAir hands out (join links). Default http://HOST:PORT */
  publicUrl: string;
  dataDir: string;
  logLevel: string;
  /** Master secret (token signing, stream key encryption); generated into DATA_DIR/secret.key when unset. */
  secret: string | null;
  sessionTtlSeconds: number;
  guestTokenTtlSeconds: number;
  admin: { email: string | null; password: string | null };
  mediasoup: {
    numWorkers: number;
    workerBin: string | null;
    listenIp: string;
    announcedAddress: string | null;
    ports: RtcPorts;
  };
  /** TURN servers handed to participants with time-limited credentials; null when TURN_URLS is unset. */
  turn: TurnConfig | null;
  /** How long an empty room stays open so people can reconnect. */
  roomGraceMs: number;
  ffmpegPath: string | null;
  recordingsDir: string;
  clientDir: string;
  /**
   * Which proxies' X-Forwarded-For to believe for the client's IP (Fastify's `trustProxy`): false
   * (default: the socket's address), true (whoever connects), or proxy addresses/CIDRs.
   */
  trustProxy: boolean | string[];
  /** Prometheus /metrics: off unless a token or a port is set. */
  metrics: MetricsConfig;
  /** The RTMP/RTMPS server that encoders (OBS, hardware) publish into rooms with. */
  ingest: IngestConfig;
  rateLimits: {
    /** Failed sign-ins per account (email) per window; successful ones do not count. Default 10. */
    loginPerAccount: number;
    /** Sign-in attempts (any outcome) per client IP per window. Default 30. */
    loginPerIp: number;
    /** Default 900 s (15 minutes). */
    loginWindowSeconds: number;
    /** Join and room-preview requests per client IP per minute. Default 60. */
    joinPerMinute: number;
  };
}

/**
 * Where WebRTC media is received. `server` (the default): one mediasoup WebRtcServer per worker on
 * UDP and TCP `port + index` (RTC_PORT, default 40000; 0 lets each worker take a free port, for
 * tests). `range`: every transport takes its own ports from RTC_MIN_PORT–RTC_MAX_PORT, split across
 * workers; chosen by setting either of those variables.
 */
export type RtcPorts = { kind: 'server'; port: number } | { kind: 'range'; min: number; max: number };

/** coturn's shared-secret scheme (`use-auth-secret` + `static-auth-secret`). */
export interface TurnConfig {
  /** turn:/turns: URLs, e.g. `turn:turn.example.org:3478?transport=udp`. */
  urls: string[];
  /** coturn's `static-auth-secret`. */
  secret: string;
  /** Lifetime of the credentials a participant gets when it connects. Default 86400 (24 h). */
  ttlSeconds: number;
}

export interface MetricsConfig {
  /** METRICS_TOKEN: /metrics on the main port answers only `Authorization: Bearer <token>`; null: not served there. */
  token: string | null;
  /** METRICS_PORT: /metrics also on its own listener on HOST, without auth (0: a free port, for tests); null: none. */
  port: number | null;
}

export interface IngestConfig {
  /** Address the RTMP/RTMPS listeners bind to (INGEST_HOST). Default HOST. */
  host: string;
  /** INGEST_RTMP_PORT: plain RTMP. Default 1935; 0 turns it off (null). */
  rtmpPort: number | null;
  /** INGEST_RTMPS_PORT: RTMP over TLS, only with INGEST_TLS_CERT/INGEST_TLS_KEY. Default 1936; null without a certificate. */
  rtmpsPort: number | null;
  /** PEM certificate chain and private key of the RTMPS listener, read at boot; null without RTMPS. */
  tls: { cert: string; key: string } | null;
  /** Host name in the server URLs the dashboard hands out (INGEST_PUBLIC_HOST). Default PUBLIC_URL's host. */
  publicHost: string;
  /** How long a source whose encoder dropped stays in the room as "reconnecting" (INGEST_GRACE_MS). Default 10000. */
  graceMs: number;
}

export class ConfigError extends Error {
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function optional(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v === '' ? null : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function ip(env: Env, name: string, fallback: string): string {
  const v = str(env, name, fallback);
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  const ok = (ipv4 && ipv4.slice(1).every((p) => Number(p) <= 255)) || (v.includes(':') && /^[0-9a-fA-F:.]+$/.test(v));
  if (!ok) throw new ConfigError(name, `must be an IP address, got "${v}"`);
  return v;
}

/** Names proxy-addr (behind Fastify's trustProxy) understands besides addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrRange(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function trustProxy(env: Env, name: string): Config['trustProxy'] {
  const raw = (env[name] ?? '').trim();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  // Fastify treats a hop count as "trust nobody" (it cannot tell a proxy from a client that sent
  // enough X-Forwarded-For entries), so a number would silently do nothing.
  if (/^\d+$/.test(raw)) throw new ConfigError(name, `hop counts are not supported; list the proxy's address instead (e.g. 127.0.0.1), got "${raw}"`);
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const bad = entries.find((e) => !isAddressOrRange(e));
  if (bad !== undefined) {
    throw new ConfigError(name, `must be true, false or a comma-separated list of proxy IPs/CIDRs; "${bad}" is none of these`);
  }
  return entries;
}

function rtcPorts(env: Env, numWorkers: number): RtcPorts {
  const rangeSet = optional(env, 'RTC_MIN_PORT') !== null || optional(env, 'RTC_MAX_PORT') !== null;
  if (!rangeSet) {
    const port = int(env, 'RTC_PORT', 40000, 0, 65535);
    if (port !== 0 && port < 1024) throw new ConfigError('RTC_PORT', `must be 0 or between 1024 and 65535, got ${port}`);
    if (port + numWorkers - 1 > 65535) {
      throw new ConfigError('RTC_PORT', `${numWorkers} workers use ports ${port}–${port + numWorkers - 1}, past 65535; lower it`);
    }
    return { kind: 'server', port };
  }
  if (optional(env, 'RTC_PORT') !== null) {
    throw new ConfigError('RTC_PORT', 'set either RTC_PORT (one port per worker) or RTC_MIN_PORT/RTC_MAX_PORT (a port range), not both');
  }
  const min = int(env, 'RTC_MIN_PORT', 40000, 1024, 65535);
  const max = int(env, 'RTC_MAX_PORT', 49999, 1024, 65535);
  if (max <= min) throw new ConfigError('RTC_MAX_PORT', `must be greater than RTC_MIN_PORT (${min})`);
  return { kind: 'range', min, max };
}

/** `turn:` or `turns:` host (name, IPv4 or [IPv6]), optional port, optional `?transport=udp|tcp` (RFC 7065). */
const TURN_URL = /^turns?:(?:[a-zA-Z0-9.-]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?(?:\?transport=(?:udp|tcp))?$/;

function turn(env: Env): TurnConfig | null {
  const raw = optional(env, 'TURN_URLS');
  const secret = optional(env, 'TURN_SECRET');
  if (raw === null) {
    if (secret !== null) throw new ConfigError('TURN_SECRET', 'is set but TURN_URLS is not; set both or neither');
    return null;
  }
  const urls = raw.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) throw new ConfigError('TURN_URLS', 'must list at least one turn: or turns: URL');
  for (const url of urls) {
    const match = TURN_URL.exec(url);
    const port = match?.[1] === undefined ? 1 : Number(match[1]);
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError('TURN_URLS', `"${url}" is not a TURN URL (turn:host[:port][?transport=udp|tcp] or turns:...)`);
    }
  }
  if (secret === null) throw new ConfigError('TURN_SECRET', "must be set with TURN_URLS (the TURN server's static-auth-secret)");
  if (secret.length < 16) throw new ConfigError('TURN_SECRET', 'must be at least 16 characters');
  return { urls, secret, ttlSeconds: int(env, 'TURN_TTL_SECONDS', 24 * 3600, 60, 7 * 24 * 3600) };
}

function metrics(env: Env, mainPort: number): MetricsConfig {
  const token = optional(env, 'METRICS_TOKEN');
  if (token !== null && (token.length < 16 || /\s/.test(token))) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters, without spaces');
  }
  const port = optional(env, 'METRICS_PORT') === null ? null : int(env, 'METRICS_PORT', 0, 0, 65535);
  if (port !== null && port !== 0 && port === mainPort) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${mainPort}): it is a listener of its own`);
  }
  return { token, port };
}

function pemFile(env: Env, name: string, marker: RegExp, what: string): string {
  const path = optional(env, name) ?? '';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(name, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!marker.test(text)) throw new ConfigError(name, `${path} is not a PEM ${what}`);
  return text;
}

/** A host name or IP address as it goes into an rtmp:// URL (IPv6 in brackets). */
const URL_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])$/;

function ingest(env: Env, host: string, httpPort: number, publicUrl: string): IngestConfig {
  const rtmp = int(env, 'INGEST_RTMP_PORT', 1935, 0, 65535);
  const certSet = optional(env, 'INGEST_TLS_CERT') !== null;
  const keySet = optional(env, 'INGEST_TLS_KEY') !== null;
  if (certSet !== keySet) throw new ConfigError(certSet ? 'INGEST_TLS_KEY' : 'INGEST_TLS_CERT', 'set both INGEST_TLS_CERT and INGEST_TLS_KEY for RTMPS, or neither');
  if (!certSet && optional(env, 'INGEST_RTMPS_PORT') !== null) throw new ConfigError('INGEST_RTMPS_PORT', 'RTMPS needs INGEST_TLS_CERT and INGEST_TLS_KEY');
  const tls = certSet
    ? { cert: pemFile(env, 'INGEST_TLS_CERT', /-----BEGIN CERTIFICATE-----/, 'certificate'), key: pemFile(env, 'INGEST_TLS_KEY', /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key') }
    : null;
  const rtmps = tls ? int(env, 'INGEST_RTMPS_PORT', 1936, 0, 65535) : null;
  for (const [name, value] of [['INGEST_RTMP_PORT', rtmp], ['INGEST_RTMPS_PORT', rtmps]] as const) {
    if (value !== null && value !== 0 && value === httpPort) throw new ConfigError(name, `must differ from PORT (${httpPort})`);
  }
  if (rtmp !== 0 && rtmps !== null && rtmps !== 0 && rtmp === rtmps) throw new ConfigError('INGEST_RTMPS_PORT', `must differ from INGEST_RTMP_PORT (${rtmp})`);
  const publicHost = str(env, 'INGEST_PUBLIC_HOST', new URL(publicUrl).hostname);
  if (!URL_HOST.test(publicHost)) throw new ConfigError('INGEST_PUBLIC_HOST', `must be a host name or IP address, got "${publicHost}"`);
  return {
    host: str(env, 'INGEST_HOST', host),
    rtmpPort: rtmp === 0 ? null : rtmp,
    rtmpsPort: rtmps === 0 ? null : rtmps,
    tls: rtmps === null || rtmps === 0 ? null : tls,
    publicHost,
    graceMs: int(env, 'INGEST_GRACE_MS', 10_000, 0, 3_600_000),
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const host = str(env, 'HOST', '127.0.0.1');
  const port = int(env, 'PORT', 8080, 0, 65535);
  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  const publicUrl = str(env, 'PUBLIC_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(publicUrl)) throw new ConfigError('PUBLIC_URL', `must start with http:// or https://, got "${publicUrl}"`);
  const dataDir = resolve(str(env, 'DATA_DIR', 'data'));
  const secret = optional(env, 'ONAIR_SECRET');
  if (secret !== null && secret.length < 32) throw new ConfigError('ONAIR_SECRET', 'must be at least 32 characters');
  const adminEmail = optional(env, 'ADMIN_EMAIL');
  const adminPassword = optional(env, 'ADMIN_PASSWORD');
  if (adminEmail !== null && !/^[^@\s]+@[^@\s]+$/.test(adminEmail)) throw new ConfigError('ADMIN_EMAIL', `is not an email address: "${adminEmail}"`);
  if (adminPassword !== null && adminPassword.length < 8) throw new ConfigError('ADMIN_PASSWORD', 'must be at least 8 characters');
  const numWorkers = int(env, 'MEDIASOUP_WORKERS', cpus().length, 1, 64);
  const announced = optional(env, 'RTC_ANNOUNCED_ADDRESS');
  return {
    host,
    port,
    publicUrl,
    dataDir,
    logLevel,
    secret,
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 12 * 3600, 60, 30 * 24 * 3600),
    guestTokenTtlSeconds: int(env, 'GUEST_TOKEN_TTL_SECONDS', 2 * 3600, 10, 7 * 24 * 3600),
    admin: { email: adminEmail, password: adminPassword },
    mediasoup: {
      numWorkers,
      workerBin: optional(env, 'MEDIASOUP_WORKER_BIN'),
      listenIp: ip(env, 'RTC_LISTEN_IP', '127.0.0.1'),
      announcedAddress: announced,
      ports: rtcPorts(env, numWorkers),
    },
    turn: turn(env),
    roomGraceMs: int(env, 'ROOM_GRACE_MS', 15_000, 0, 3_600_000),
    ffmpegPath: optional(env, 'FFMPEG_PATH'),
    recordingsDir: resolve(str(env, 'RECORDINGS_DIR', `${dataDir}/recordings`)),
    clientDir: resolve(str(env, 'CLIENT_DIR', new URL('../../client/dist', import.meta.url).pathname)),
    trustProxy: trustProxy(env, 'TRUST_PROXY'),
    metrics: metrics(env, port),
    ingest: ingest(env, host, port, publicUrl),
    rateLimits: {
      loginPerAccount: int(env, 'LOGIN_RATE_LIMIT_PER_ACCOUNT', 10, 1, 10_000),
      loginPerIp: int(env, 'LOGIN_RATE_LIMIT_PER_IP', 30, 1, 100_000),
      loginWindowSeconds: int(env, 'LOGIN_RATE_LIMIT_WINDOW_SECONDS', 15 * 60, 1, 24 * 3600),
      joinPerMinute: int(env, 'JOIN_RATE_LIMIT_PER_MINUTE', 60, 1, 100_000),
    },
  };
}
