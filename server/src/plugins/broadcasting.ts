import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BroadcastService } from '../broadcast/BroadcastService.js';
import type { Config } from '../config.js';
import { ServerEvents } from '../events/ServerEvents.js';
import type { Logger } from '../logger.js';
import { WebhookDispatcher } from '../webhooks/WebhookDispatcher.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Broadcast, destination, webinar and recording facts, for subscribers such as webhooks. */
    events: ServerEvents;
    broadcasts: BroadcastService;
    webhookDispatcher: WebhookDispatcher;
  }
}

/** Go live for rooms (program, destinations, recording, history) and the webhooks that report it. */
async function broadcasting(app: FastifyInstance, { config, minuteMs }: { config: Config; minuteMs?: number }): Promise<void> {
  const logger = app.log as Logger;
  const events = new ServerEvents(logger);
  const webhookDispatcher = new WebhookDispatcher({ repo: app.webhooks, events, logger: logger.child({ webhooks: true }) });
  app.decorate('events', events);
  app.decorate('webhookDispatcher', webhookDispatcher);
  app.decorate('broadcasts', new BroadcastService({ config, db: app.db, destinations: app.destinations, rooms: app.rooms, events, logger, ...(minuteMs ? { minuteMs } : {}) }));
  // Recordings whose remux a stop or crash cut short are remuxed now.
  app.addHook('onReady', async () => app.broadcasts.recordings.resumeInterrupted());
}

export default fp(broadcasting, {
  name: 'onair-broadcasting',
  fastify: '5.x',
  dependencies: ['onair-storage'],
  decorators: { fastify: ['db', 'destinations', 'rooms', 'webhooks'] },
});
