import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { join } from 'node:path';
import { Keys } from '../persistence/keys.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { CamerasRepo } from '../persistence/cameras.js';
import { openDb, type Db } from '../persistence/db.js';
import { DestinationsRepo } from '../persistence/destinations.js';
import { IngestSourcesRepo } from '../persistence/ingestSources.js';
import { RoomsRepo } from '../persistence/rooms.js';
import { UsersRepo } from '../persistence/users.js';
import { WebhooksRepo } from '../persistence/webhooks.js';
import { WebinarsRepo } from '../persistence/webinars.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    /** The master secret's derived keys: token signing and stream-key encryption. */
    keys: Keys;
    users: UsersRepo;
    rooms: RoomsRepo;
    destinations: DestinationsRepo;
    webinarsRepo: WebinarsRepo;
    webhooks: WebhooksRepo;
    camerasRepo: CamerasRepo;
    /** RTMP ingest sources of rooms (stream keys sealed like destination keys). */
    ingestSources: IngestSourcesRepo;
  }
}

/** SQLite (DATA_DIR/onair.db), the master secret and the repositories over them. */
async function storage(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const logger = app.log as Logger;
  const db = openDb(join(config.dataDir, 'onair.db'));
  const keys = Keys.load(config.secret, config.dataDir);
  const destinations = new DestinationsRepo(db, keys);
  const unreadable = destinations.registerAllSecrets();
  if (unreadable.length > 0) {
    logger.error(
      { destinations: unreadable },
      'the stream keys of these destinations cannot be decrypted: the master secret (DATA_DIR/secret.key or ONAIR_SECRET) changed. Enter their keys again in the dashboard, or restore the original secret.',
    );
  }
  const webhooks = new WebhooksRepo(db, keys);
  const unreadableHooks = webhooks.registerAllSecrets();
  if (unreadableHooks.length > 0) {
    logger.error({ webhooks: unreadableHooks }, 'the signing secrets of these webhooks cannot be decrypted (the master secret changed); rotate them in the dashboard.');
  }
  const cameras = new CamerasRepo(db, keys);
  const unreadableCameras = cameras.registerAllSecrets();
  if (unreadableCameras.length > 0) {
    logger.error({ cameras: unreadableCameras }, 'the user names and passwords of these cameras cannot be decrypted (the master secret changed); enter them again in the dashboard.');
  }
  const ingestSources = new IngestSourcesRepo(db, keys);
  const unreadableIngest = ingestSources.registerAllSecrets();
  if (unreadableIngest.length > 0) {
    logger.error({ ingestSources: unreadableIngest }, 'the stream keys of these ingest sources cannot be decrypted (the master secret changed); rotate them in the dashboard.');
  }
  app.decorate('db', db);
  app.decorate('keys', keys);
  app.decorate('users', new UsersRepo(db));
  app.decorate('rooms', new RoomsRepo(db));
  app.decorate('destinations', destinations);
  app.decorate('webinarsRepo', new WebinarsRepo(db));
  app.decorate('webhooks', webhooks);
  app.decorate('camerasRepo', cameras);
  app.decorate('ingestSources', ingestSources);
}

export default fp(storage, { name: 'onair-storage', fastify: '5.x' });
