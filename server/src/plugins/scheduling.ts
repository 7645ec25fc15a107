import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { Scheduler, systemClock, type Clock } from '../scheduling/Scheduler.js';
import { WebinarService } from '../scheduling/WebinarService.js';

declare module 'fastify' {
  interface FastifyInstance {
    scheduler: Scheduler;
    webinars: WebinarService;
  }
}

export interface SchedulingOptions {
  config: Config;
  /** The scheduler's clock (tests drive it by hand). */
  clock?: Clock;
  /** Tick interval; 0 leaves ticking to the caller. Default 1000 ms. */
  intervalMs?: number;
}

/** Webinars that go live at their start and stop at their end, in their own rooms. */
async function scheduling(app: FastifyInstance, options: SchedulingOptions): Promise<void> {
  const { registry, broadcasts, destinations } = app;
  const clock = options.clock ?? systemClock;
  const scheduler = new Scheduler({
    webinars: app.webinarsRepo,
    clock,
    logger: (app.log as Logger).child({ scheduler: true }),
    events: app.events,
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
          verticalLayout: w.verticalLayout,
          verticalResolution: w.verticalResolution,
          ...(w.overlayTitle ? { title: w.overlayTitle } : {}),
          record: w.record,
          recordVertical: w.recordVertical,
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
  app.decorate('scheduler', scheduler);
  app.decorate(
    'webinars',
    new WebinarService({
      webinars: app.webinarsRepo,
      rooms: app.rooms,
      users: app.users,
      destinations,
      scheduler,
      eventPages: app.eventPages,
      clock,
      inviteUrl: (roomId) => app.invites.url(roomId),
      publicUrl: options.config.publicUrl,
    }),
  );
  app.addHook('onReady', async () => {
    const interval = options.intervalMs ?? 1000;
    if (interval > 0) scheduler.start(interval);
  });
}

export default fp(scheduling, {
  name: 'onair-scheduling',
  fastify: '5.x',
  dependencies: ['onair-storage', 'onair-identity', 'onair-sfu', 'onair-broadcasting'],
  decorators: { fastify: ['webinarsRepo', 'rooms', 'users', 'destinations', 'registry', 'broadcasts', 'events', 'invites', 'eventPages'] },
});
