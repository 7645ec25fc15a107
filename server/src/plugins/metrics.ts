import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { MetricsConfig } from '../config.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../metrics/Metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The port of the METRICS_PORT listener once listening; null when there is none. */
    readonly metricsPort: number | null;
  }
}

export interface MetricsPluginOptions {
  metrics: Metrics;
  config: MetricsConfig;
  /** Where the METRICS_PORT listener binds (HOST). */
  host: string;
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** METRICS_TOKEN as a Bearer token; anything else is refused in the API's error body. */
function checkToken(req: FastifyRequest, token: string): void {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".');
  if (!sameSecret(match[1], token)) throw new AppError('TOKEN_INVALID', 'The metrics token is not valid.');
}

/**
 * Prometheus: times every HTTP request (by route pattern), serves `/metrics` on the main port to
 * METRICS_TOKEN holders only (404 without a token, so it is off by default), and, with
 * METRICS_PORT, on a listener of its own without auth, meant for a private network.
 */
async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  const { metrics, config, host } = options;

  app.addHook('onResponse', async (req, reply) => {
    metrics.observeHttp(req.method, req.routeOptions.url ?? '(no route)', reply.statusCode, reply.elapsedTime / 1000);
  });

  // Outside /api, so the auth plugin does not see it: the token is checked here.
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (config.token === null) throw new AppError('NOT_FOUND', 'No route GET /metrics.');
    reply.header('www-authenticate', 'Bearer');
    checkToken(req, config.token);
    reply.removeHeader('www-authenticate');
    return reply.type(metrics.contentType).send(await metrics.scrape());
  });

  let server: Server | null = null;
  app.decorate('metricsPort', {
    getter: () => {
      const address = server?.address();
      return typeof address === 'object' && address ? address.port : null;
    },
  });
  if (config.port === null) return;
  const port = config.port;
  app.addHook('onReady', async () => {
    const listener = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only GET /metrics is served here.' } }));
        return;
      }
      metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => {
          app.log.error({ err }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL', message: 'Something went wrong on the server.' } }));
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (err) => reject(new Error(`cannot listen for metrics on ${host}:${port} (${err.message}); set METRICS_PORT`)));
      listener.listen(port, host, () => resolve());
    });
    server = listener;
  });
  app.addHook('onClose', async () => {
    const listener = server;
    if (!listener) return;
    listener.closeAllConnections();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    server = null;
  });
}

export default fp(metricsPlugin, { name: 'onair-metrics', fastify: '5.x' });
