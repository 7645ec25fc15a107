import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from './auth/passwords.js';
import type { Config } from './config.js';
import { MAX_BODY_JSON_DEPTH, parseUntrustedJson, trimStrings } from './edge/input.js';
import { AppError, toErrorBody, validationMessage } from './errors.js';
import { loggerOptions, type Logger } from './logger.js';
import { Metrics } from './metrics/Metrics.js';
import type { UsersRepo } from './persistence/users.js';
import authPlugin from './plugins/auth.js';
import broadcastingPlugin from './plugins/broadcasting.js';
import camerasPlugin from './plugins/cameras.js';
import identityPlugin from './plugins/identity.js';
import ingestPlugin from './plugins/ingest.js';
import metricsPlugin from './plugins/metrics.js';
import rateLimitPlugin from './plugins/rateLimit.js';
import schedulingPlugin from './plugins/scheduling.js';
import securityHeadersPlugin, { DOCS_CSP } from './plugins/securityHeaders.js';
import sfuPlugin from './plugins/sfu.js';
import storagePlugin from './plugins/storage.js';
import { authRoutes } from './routes/auth.js';
import { broadcastRoutes } from './routes/broadcasts.js';
import { cameraRoutes } from './routes/cameras.js';
import { destinationRoutes } from './routes/destinations.js';
import { ingestRoutes } from './routes/ingest.js';
import { readyRoute } from './routes/ready.js';
import { recordingRoutes } from './routes/recordings.js';
import { roomRoutes } from './routes/rooms.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';
import { watchRoutes } from './routes/watch.js';
import { webinarRoutes } from './routes/webinars.js';
import { wsRoute } from './routes/ws.js';
import type { Clock } from './scheduling/Scheduler.js';

export interface BuildOptions {
  /** The scheduler's clock (tests drive it by hand). */
  clock?: Clock;
  /** Scheduler tick interval; 0 leaves ticking to the caller. Default 1000 ms. */
  schedulerIntervalMs?: number;
  /** Tests: the length of a minute for broadcasts' idle timeout (ms). Default 60,000. */
  broadcastMinuteMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
  }
}

export type App = FastifyInstance;

export interface BuildResult {
  app: App;
  /** Set when this start created the first admin (email, generated password or null if from env). */
  createdAdmin: { email: string; password: string | null } | null;
}

/**
 * Wires OnAir: the services as plugins (each declares what it decorates and needs), the edge
 * (errors, JSON, security headers, rate limits, auth), the routes, the client, and the order of
 * shutdown. Nothing here does the work itself.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<BuildResult> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit: 256 * 1024,
    // Behind the TLS proxy, req.ip (rate limits, logs) is the client's address only if trusted.
    trustProxy: config.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const logger = app.log as Logger;
  app.decorate('config', config);

  // Services, in dependency order.
  await app.register(storagePlugin, { config });
  const createdAdmin = await ensureAdmin(config, app.users);
  await app.register(identityPlugin, { config });
  await app.register(sfuPlugin, { config });
  await app.register(camerasPlugin, { config });
  await app.register(broadcastingPlugin, { config, ...(options.broadcastMinuteMs ? { minuteMs: options.broadcastMinuteMs } : {}) });
  await app.register(ingestPlugin, { config });
  await app.register(schedulingPlugin, { config, ...(options.clock ? { clock: options.clock } : {}), ...(options.schedulerIntervalMs !== undefined ? { intervalMs: options.schedulerIntervalMs } : {}) });

  app.setErrorHandler((error, req, reply) => {
    if (error instanceof AppError) return reply.status(error.status).send({ error: error.toBody() });
    const e = error as { validation?: unknown; validationContext?: string; statusCode?: number; message?: string; code?: string };
    if (e.validation) {
      return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: validationMessage(e) } });
    }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ error: { code: 'BAD_REQUEST', message: e.message ?? 'Bad request.' } });
    }
    req.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: toErrorBody(error) });
  });

  // Every JSON body is bounded in depth before it becomes objects and parsed without prototype
  // poisoning (the size is bounded by bodyLimit); then every string in it is trimmed, so schema
  // lengths apply to what was meant and a whitespace-only name or key is refused.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseUntrustedJson(body as string, MAX_BODY_JSON_DEPTH));
    } catch (error) {
      done(new AppError('VALIDATION_FAILED', error instanceof AppError ? error.message : 'The body is not valid JSON.'), undefined);
    }
  });
  app.addHook('preValidation', async (req) => {
    if (typeof req.body === 'object' && req.body !== null) trimStrings(req.body);
    if (typeof req.query === 'object' && req.query !== null) trimStrings(req.query);
  });

  await app.register(securityHeadersPlugin, { publicUrl: config.publicUrl });
  await app.register(rateLimitPlugin);
  await app.register(authPlugin);
  const metrics = new Metrics({ rooms: () => app.registry.list(), workers: () => app.pool.workers, broadcasts: () => app.broadcasts.running() });
  await app.register(metricsPlugin, { metrics, config: config.metrics, host: config.host });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'OnAir API', version: '0.1.0', description: 'Meetings, go-live destinations, webinars and broadcast history.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
  // Shutdown, first part. preClose hooks run in the order they were added, and the WebSocket plugin
  // closes every socket in its own: so this one comes before it. The schedule stops (it must not
  // see the webinars end), live broadcasts stop as a host's Stop would (clean end of stream at
  // every destination; the history says the server shut down), then peers hear SERVER_RESTARTING.
  app.addHook('preClose', async () => {
    app.scheduler.close();
    await app.broadcasts.close('The server shut down.');
    await app.registry.closeAll();
  });
  await app.register(fastifyWebsocket, {
    options: { maxPayload: 1024 * 1024 },
    // A socket error is the client's doing (invalid UTF-8 → 1007, a frame over maxPayload → 1009,
    // an unclean disconnect): logged at debug so a client cannot flood the error log with them.
    errorHandler: (error, socket, req) => {
      req.log.debug({ err: error }, 'websocket closed on a client error');
      socket.terminate();
    },
  });

  app.get('/api/health', { config: { auth: { roles: 'public' } }, schema: { response: { 200: Type.Object({ ok: Type.Boolean(), rooms: Type.Integer() }) } } }, async () => ({
    ok: true,
    rooms: app.registry.list().length,
  }));
  for (const routes of [authRoutes, roomRoutes, destinationRoutes, userRoutes, webinarRoutes, broadcastRoutes, webhookRoutes, recordingRoutes, watchRoutes, cameraRoutes, ingestRoutes, readyRoute, wsRoute]) {
    await app.register(routes);
  }

  if (existsSync(join(config.clientDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: config.clientDir, wildcard: false });
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/ws')) return reply.sendFile('index.html');
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}.` } });
    });
  } else {
    logger.warn({ clientDir: config.clientDir }, 'the client is not built; run `npm run build` (the API still works)');
    app.setNotFoundHandler((req, reply) =>
      reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}.` } }),
    );
  }

  // Shutdown, after the server stopped listening: the webhooks' last events get up to 2 s, then
  // the workers, then the database (the first part is the preClose hook above the WebSocket plugin).
  app.addHook('onClose', async () => {
    app.scheduler.close();
    await app.broadcasts.close();
    await app.registry.closeAll();
    await app.webhookDispatcher.close(2000);
    app.pool.close();
    app.db.close();
  });

  return { app, createdAdmin };
}

async function ensureAdmin(config: Config, users: UsersRepo): Promise<BuildResult['createdAdmin']> {
  if (users.count() > 0) return null;
  const email = config.admin.email ?? 'admin@onair.local';
  const generated = config.admin.password === null;
  const password = config.admin.password ?? randomPassword();
  users.create({ email, name: 'Admin', role: 'admin', passwordHash: await hashPassword(password) });
  return { email, password: generated ? password : null };
}

function randomPassword(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url');
}
