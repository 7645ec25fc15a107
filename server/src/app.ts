import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RoomAccess } from './auth/access.js';
import { Keys } from './auth/keys.js';
import { hashPassword } from './auth/passwords.js';
import { Tokens } from './auth/tokens.js';
import type { Config } from './config.js';
import { MAX_BODY_JSON_DEPTH, parseUntrustedJson, trimStrings } from './edge/input.js';
import { AppError, toErrorBody, validationMessage } from './errors.js';
import { loggerOptions, type Logger } from './logger.js';
import { openDb, type Db } from './persistence/db.js';
import { DestinationsRepo } from './persistence/destinations.js';
import { RoomsRepo } from './persistence/rooms.js';
import { UsersRepo } from './persistence/users.js';
import authPlugin from './plugins/auth.js';
import rateLimitPlugin from './plugins/rateLimit.js';
import securityHeadersPlugin, { DOCS_CSP } from './plugins/securityHeaders.js';
import { authRoutes } from './routes/auth.js';
import { destinationRoutes } from './routes/destinations.js';
import { roomRoutes } from './routes/rooms.js';
import { wsRoute } from './routes/ws.js';
import { RoomRegistry } from './sfu/RoomRegistry.js';
import { WorkerPool } from './sfu/WorkerPool.js';
import { BroadcastService } from './broadcasting/BroadcastService.js';
import { WebinarsRepo } from './persistence/webinars.js';
import { broadcastRoutes } from './routes/broadcasts.js';
import { recordingRoutes } from './routes/recordings.js';
import { userRoutes } from './routes/users.js';
import { webinarRoutes } from './routes/webinars.js';
import { Scheduler, systemClock, type Clock } from './scheduling/Scheduler.js';
import { WebinarService } from './scheduling/WebinarService.js';
import { ServerEvents } from './events/ServerEvents.js';
import { WebhooksRepo } from './persistence/webhooks.js';
import { webhookRoutes } from './routes/webhooks.js';
import { WebhookDispatcher } from './webhooks/WebhookDispatcher.js';
import { makeInviteUrl } from './routes/rooms.js';
import { Metrics } from './metrics/Metrics.js';
import metricsPlugin from './plugins/metrics.js';
import { readyRoute } from './routes/ready.js';

/** Everything routes need; built once per app. */
export interface Services {
  config: Config;
  db: Db;
  keys: Keys;
  tokens: Tokens;
  /** Who is a host of which room, and whether a token was revoked. */
  access: RoomAccess;
  users: UsersRepo;
  rooms: RoomsRepo;
  destinations: DestinationsRepo;
  pool: WorkerPool;
  registry: RoomRegistry;
  broadcasts: BroadcastService;
  webinarsRepo: WebinarsRepo;
  webinars: WebinarService;
  scheduler: Scheduler;
  /** Broadcast, destination, webinar and recording facts, for subscribers such as webhooks. */
  events: ServerEvents;
  webhooks: WebhooksRepo;
  webhookDispatcher: WebhookDispatcher;
  /** Join link (with a guest invite) for a room. */
  inviteUrl: (roomId: string) => string;
  logger: Logger;
}

export interface BuildOptions {
  /** The scheduler's clock (tests drive it by hand). */
  clock?: Clock;
  /** Scheduler tick interval; 0 leaves ticking to the caller. Default 1000 ms. */
  schedulerIntervalMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

export type App = FastifyInstance;

export interface BuildResult {
  app: App;
  /** Set when this start created the first admin (email, generated password or null if from env). */
  createdAdmin: { email: string; password: string | null } | null;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<BuildResult> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit: 256 * 1024,
    // Behind the TLS proxy, req.ip (rate limits, logs) is the client's address only if trusted.
    trustProxy: config.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const logger = app.log as Logger;

  const db = openDb(join(config.dataDir, 'onair.db'));
  const keys = Keys.load(config.secret, config.dataDir);
  const tokens = new Tokens(keys.tokenKey);
  const users = new UsersRepo(db);
  const rooms = new RoomsRepo(db);
  const destinations = new DestinationsRepo(db, keys);
  const unreadable = destinations.registerAllSecrets();
  if (unreadable.length > 0) {
    logger.error(
      { destinations: unreadable },
      'the stream keys of these destinations cannot be decrypted: the master secret (DATA_DIR/secret.key or ONAIR_SECRET) changed. Enter their keys again in the dashboard, or restore the original secret.',
    );
  }
  const events = new ServerEvents(logger);
  const webhooks = new WebhooksRepo(db, keys);
  const unreadableHooks = webhooks.registerAllSecrets();
  if (unreadableHooks.length > 0) {
    logger.error({ webhooks: unreadableHooks }, 'the signing secrets of these webhooks cannot be decrypted (the master secret changed); rotate them in the dashboard.');
  }
  const webhookDispatcher = new WebhookDispatcher({ repo: webhooks, events, logger: logger.child({ webhooks: true }) });
  const createdAdmin = await ensureAdmin(config, users);

  const pool = await WorkerPool.create({
    numWorkers: config.mediasoup.numWorkers,
    workerBin: config.mediasoup.workerBin,
    listenIp: config.mediasoup.listenIp,
    announcedAddress: config.mediasoup.announcedAddress,
    ports: config.mediasoup.ports,
    logger,
  });
  const registry = new RoomRegistry({
    pool,
    graceMs: config.roomGraceMs,
    logger,
  });
  const broadcasts = new BroadcastService({ config, db, destinations, rooms, events, logger });
  const webinarsRepo = new WebinarsRepo(db);
  const access = new RoomAccess({ users, rooms, webinars: webinarsRepo });
  const clock = options.clock ?? systemClock;
  const scheduler = new Scheduler({
    webinars: webinarsRepo,
    clock,
    logger: logger.child({ scheduler: true }),
    events,
    isLive: (w) => broadcasts.isLive(w.roomId),
    goLive: async (w) => {
      const room = await registry.open(w.roomId, w.title);
      room.hold();
      // A host already went live in the webinar's room by hand: that broadcast is the webinar's.
      if (broadcasts.isLive(room.id)) return;
      const destinationIds = w.destinationIds.filter((id) => destinations.exists(id));
      try {
        await broadcasts.start(room, null, {
          destinationIds,
          layout: w.layout,
          resolution: w.resolution,
          ...(w.overlayTitle ? { title: w.overlayTitle } : {}),
          record: w.record,
          trigger: 'scheduled',
          webinarId: w.id,
          slateText: 'Starting soon',
        });
      } catch (error) {
        room.release();
        throw error;
      }
    },
    stop: async (w) => {
      const room = registry.get(w.roomId);
      if (!room) return;
      if (broadcasts.isLive(room.id)) await broadcasts.stop(room, null);
      room.release();
    },
  });
  const inviteUrl = makeInviteUrl(tokens, config.publicUrl);
  const webinars = new WebinarService({ webinars: webinarsRepo, rooms, users, destinations, scheduler, clock, inviteUrl, publicUrl: config.publicUrl });
  app.decorate('services', {
    config, db, keys, tokens, access, users, rooms, destinations, pool, registry, broadcasts, webinarsRepo, webinars, scheduler, inviteUrl, logger, events, webhooks, webhookDispatcher,
  });

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
  await app.register(authPlugin, { tokens, access, rooms });
  const metrics = new Metrics({ rooms: () => registry.list(), workers: () => pool.workers, broadcasts: () => broadcasts.running() });
  await app.register(metricsPlugin, { metrics, config: config.metrics, host: config.host });
  // At shutdown, before the WebSocket plugin closes the sockets: the schedule stops (it must not
  // see the webinars end), live broadcasts stop as a host's Stop would (clean end of stream at
  // every destination; the history says the server shut down), then peers hear SERVER_RESTARTING.
  app.addHook('preClose', async () => {
    scheduler.close();
    await broadcasts.close('The server shut down.');
    await registry.closeAll();
  });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'OnAir API', version: '0.1.0', description: 'Meetings, go-live destinations, webinars and broadcast history.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
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
    rooms: registry.list().length,
  }));
  await app.register(authRoutes);
  await app.register(roomRoutes);
  await app.register(destinationRoutes);
  await app.register(userRoutes);
  await app.register(webinarRoutes);
  await app.register(broadcastRoutes);
  await app.register(webhookRoutes);
  await app.register(recordingRoutes);
  await app.register(readyRoute);
  await app.register(wsRoute);

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

  app.addHook('onReady', async () => {
    // Recordings whose remux a stop or crash cut short are remuxed now.
    broadcasts.recordings.resumeInterrupted();
    const interval = options.schedulerIntervalMs ?? 1000;
    if (interval > 0) scheduler.start(interval);
  });
  app.addHook('onClose', async () => {
    scheduler.close();
    await broadcasts.close();
    await registry.closeAll();
    // The broadcasts' last events (stopped, recording ready) get up to 2 s to reach their endpoints.
    await webhookDispatcher.close(2000);
    pool.close();
    db.close();
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
