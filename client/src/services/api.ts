/**
 * fetch wrapper for the OnAir REST API. Bodies are JSON; replies are checked against the shared
 * TypeBox schemas (the ones the server validates with), so a reply the page does not understand
 * fails here (BAD_REPLY) instead of somewhere deep in a component.
 */
import { ErrorReply } from '@onair/shared';
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { errorWords } from './errors';

// The shared schemas use these string formats; TypeBox refuses unknown formats unless registered.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)));
if (!FormatRegistry.Has('email')) FormatRegistry.Set('email', (value) => /^[^\s@]+@[^\s@]+$/.test(value));

/** A failed API call: `code` is the server's error code (or a client one such as NETWORK). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    /** Plain words, ready to show. */
    message: string,
    readonly status: number,
    /** The server's own message, for logs. */
    readonly serverMessage: string = message,
  ) {
    super(message);
  }
}

let sessionToken: string | null = null;

/** Set by useAuth; sent as `Authorization: Bearer` on every call while signed in. */
export function setSessionToken(token: string | null): void {
  sessionToken = token;
}

// Replies are checked by TypeBox's interpreter (Value.Check), not TypeCompiler: compiling builds
// the checker with `new Function`, which the page's Content-Security-Policy forbids (script-src
// 'self', no 'unsafe-eval'). Replies are small; interpreting them costs microseconds.

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

async function send(method: Method, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  // A file (a logo) goes as its own bytes and type; anything else as JSON.
  if (body instanceof Blob) headers['Content-Type'] = body.type || 'application/octet-stream';
  else if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (sessionToken) headers.Authorization = `Bearer ${sessionToken}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : body instanceof Blob ? body : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError('NETWORK', errorWords('NETWORK'), 0);
  }
  if (res.ok) return res;

  let payload: unknown = null;
  try {
    payload = await res.json();
  } catch {
    // Not JSON: a proxy error page or an empty body.
  }
  if (Value.Check(ErrorReply, payload)) {
    const { code, message } = payload.error;
    throw new ApiError(code, errorWords(code, message), res.status, message);
  }
  // A 502/503/504 without our error body means the OnAir server itself could not be reached.
  const code = res.status >= 502 && res.status <= 504 ? 'NETWORK' : res.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
  throw new ApiError(code, errorWords(code), res.status, `HTTP ${res.status}`);
}

async function call<S extends TSchema>(method: Method, path: string, reply: S, body?: unknown): Promise<Static<S>> {
  const res = await send(method, path, body);
  let payload: unknown;
  try {
    payload = await res.json();
  } catch {
    throw new ApiError('BAD_REPLY', errorWords('BAD_REPLY'), res.status, 'reply is not JSON');
  }
  if (!Value.Check(reply, payload)) {
    const first = Value.Errors(reply, payload).First();
    const detail = first ? `${first.path}: ${first.message}` : 'reply does not match schema';
    console.warn(`[api] ${method} ${path}: ${detail}`);
    throw new ApiError('BAD_REPLY', errorWords('BAD_REPLY'), res.status, detail);
  }
  return payload;
}

/** Builds `path?key=value` from the defined entries only. */
export function withQuery(path: string, query: Record<string, string | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export const api = {
  get: <S extends TSchema>(path: string, reply: S) => call('GET', path, reply),
  post: <S extends TSchema>(path: string, body: unknown, reply: S) => call('POST', path, reply, body),
  put: <S extends TSchema>(path: string, body: unknown, reply: S) => call('PUT', path, reply, body),
  patch: <S extends TSchema>(path: string, body: unknown, reply: S) => call('PATCH', path, reply, body),
  /** For calls whose reply body does not matter (204 or `{}`). */
  async delete(path: string): Promise<void> {
    await send('DELETE', path);
  },
  async postNoReply(path: string, body: unknown): Promise<void> {
    await send('POST', path, body);
  },
};
