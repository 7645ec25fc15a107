import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityHeadersOptions {
  /** PUBLIC_URL: its WebSocket origin is allowed to connect to, next to 'self'. */
  publicUrl: string;
}

/** The WebSocket origin the client opens /ws on when served from `publicUrl` (ws:// or wss://). */
function webSocketOrigin(publicUrl: string): string {
  const url = new URL(publicUrl);
  return `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}`;
}

/**
 * The client's Content-Security-Policy: only this origin's scripts and styles (the built client has
 * no inline script, style element or style attribute; Vue's style bindings go through CSSOM, which
 * CSP allows), no plugins, no framing, no <base> or form posts elsewhere. Camera previews and
 * recordings (and the event page's player and its worker) are blob: URLs; avatars and icons may be data: URLs.
 */
export function clientCsp(publicUrl: string): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'media-src': ["'self'", 'blob:'],
    // The event page's player (hls.js) transmuxes in a worker it starts from a blob: URL.
    'worker-src': ["'self'", 'blob:'],
    // CSP Level 3 browsers match ws(s) of this host with 'self'; the PUBLIC_URL one is spelled out.
    'connect-src': ["'self'", webSocketOrigin(publicUrl)],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/**
 * The API docs (Swagger UI at /docs) render with inline styles; they get their own policy, set by
 * @fastify/swagger-ui on its routes only. Still no inline or third-party script.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Security headers on every response (pages, assets, API JSON, 404s, the docs): CSP, nosniff,
 * no referrer, no framing, cross-origin isolation of windows and resources (@fastify/helmet).
 */
async function securityHeaders(app: FastifyInstance, options: SecurityHeadersOptions): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: clientCsp(options.publicUrl) },
    // Join links carry the room's invite token (/join/:id?invite=…): send no Referer at all, so a
    // link clicked or a resource loaded from a page never hands the token to another site.
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    // TLS ends at the proxy in front of OnAir, which owns HSTS for its domain (see README).
    strictTransportSecurity: false,
  });
}

export default fp(securityHeaders, { name: 'onair-security-headers', fastify: '5.x' });
