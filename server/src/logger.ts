import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Secrets the process has seen (stream keys, full RTMP URLs that embed them). Every log line is
 * passed through redact() so none of them is ever written out, whatever logged it.
 */
const secrets = new Set<string>();

/** Shortest secret worth redacting; shorter strings would mangle ordinary words. */
const MIN_SECRET_LENGTH = 4;

export function registerSecret(secret: string): void {
  if (secret.length >= MIN_SECRET_LENGTH) secrets.add(secret);
}

export function forgetSecret(secret: string): void {
  secrets.delete(secret);
}

/** The user name and password of a URL (rtsp://user:pass@host/… as ffmpeg prints the camera it opens). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]+@/gi;

/** Replaces every registered secret in text with ••••<last 4>, and any URL's user:password@ with ••••@. */
export function redact(text: string): string {
  let out = text.includes('@') ? text.replace(URL_USERINFO, '$1••••@') : text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(`••••${secret.slice(-4)}`);
  }
  return out;
}

function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const copy = new Error(redact(value.message));
    copy.name = value.name;
    if (value.stack) copy.stack = redact(value.stack);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}

/** A request URL with the values of its link tokens (`token`, `invite`) replaced: links are secrets too. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|invite)=)[^&#]*/gi, '$1[redacted]');
}

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers: {
      req: (req: LoggedRequest) => ({ method: req.method, url: redactUrl(req.url ?? ''), remoteAddress: req.ip, remotePort: req.socket?.remotePort }),
    },
    redact: { paths: ['req.headers.authorization', 'streamKey', '*.streamKey', 'password', '*.password', 'token', '*.token'], censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        if (secrets.size === 0) return method.apply(this, args);
        return method.apply(this, args.map((a) => redactDeep(a)) as Parameters<typeof method>);
      },
    },
  };
}

export function createLogger(level = 'info'): Logger {
  return pino(loggerOptions(level));
}
