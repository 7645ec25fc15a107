import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BroadcastService } from '../broadcast/BroadcastService.js';
import type { Config } from '../config.js';
import { EventPages } from '../eventpage/EventPages.js';
import { ServerEvents } from '../events/ServerEvents.js';
import { EventPagesRepo } from '../persistence/eventPages.js';
import type { Logger } from '../logger.js';
import { WebhookDispatcher } from '../webhooks/WebhookDispatcher.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Broadcast, destination, webinar and recording facts, for subscribers such as webhooks. */
    events: ServerEvents;
    broadcasts: BroadcastService;
    /** The rooms' OnAir event pages (HLS of their broadcasts at /watch/<slug>). */
    eventPages: EventPages;
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
  const eventPages = new EventPages({
    repo: new EventPagesRepo(app.db),
    tokens: app.tokens,
    publicUrl: config.publicUrl,
    describe: (roomId) => {
      const room = app.rooms.find(roomId);
      if (!room) return null;
      const webinar = app.webinarsRepo.forRoom(roomId);
      if (!webinar) return { title: room.name, description: '', startsAt: null, over: false };
      const over = webinar.status === 'ended' || webinar.status === 'missed' || webinar.status === 'cancelled';
      return { title: webinar.title, description: webinar.description, startsAt: webinar.startsAt, over };
    },
  });
  app.decorate('eventPages', eventPages);
  app.decorate(
    'broadcasts',
    new BroadcastService({ config, db: app.db, destinations: app.destinations, rooms: app.rooms, events, eventPages, logger, ...(minuteMs ? { minuteMs } : {}) }),
  );
  // Recordings whose remux a stop or crash cut short are remuxed now.
  app.addHook('onReady', async () => {
    app.broadcasts.sweepEventPageSegments();
    return app.broadcasts.recordings.resumeInterrupted();
  });
}

export default fp(broadcasting, {
  name: 'onair-broadcasting',
  fastify: '5.x',
  dependencies: ['onair-storage', 'onair-identity'],
  decorators: { fastify: ['db', 'destinations', 'rooms', 'webhooks', 'webinarsRepo', 'tokens'] },
});
