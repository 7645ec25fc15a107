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
    rtcMinPort: number;
    rtcMaxPort: number;
  };
  /** How long an empty room stays open so people can reconnect. */
  roomGraceMs: number;
  ffmpegPath: string | null;
  recordingsDir: string;
  clientDir: string;
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
  const rtcMinPort = int(env, 'RTC_MIN_PORT', 40000, 1024, 65535);
  const rtcMaxPort = int(env, 'RTC_MAX_PORT', 49999, 1024, 65535);
  if (rtcMaxPort <= rtcMinPort) throw new ConfigError('RTC_MAX_PORT', `must be greater than RTC_MIN_PORT (${rtcMinPort})`);
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
      numWorkers: int(env, 'MEDIASOUP_WORKERS', cpus().length, 1, 64),
      workerBin: optional(env, 'MEDIASOUP_WORKER_BIN'),
      listenIp: ip(env, 'RTC_LISTEN_IP', '127.0.0.1'),
      announcedAddress: announced,
      rtcMinPort,
      rtcMaxPort,
    },
    roomGraceMs: int(env, 'ROOM_GRACE_MS', 15_000, 0, 3_600_000),
    ffmpegPath: optional(env, 'FFMPEG_PATH'),
    recordingsDir: resolve(str(env, 'RECORDINGS_DIR', `${dataDir}/recordings`)),
    clientDir: resolve(str(env, 'CLIENT_DIR', new URL('../../client/dist', import.meta.url).pathname)),
  };
}
