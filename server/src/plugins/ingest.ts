import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { IngestService } from '../ingest/IngestService.js';
import type { Logger } from '../logger.js';
import { resolveFfmpegPath } from '../media/ffmpegPath.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The RTMP/RTMPS ingest server and the sources publishing into rooms now. */
    ingest: IngestService;
  }
}

/** RTMP/RTMPS ingest (INGEST_RTMP_PORT, INGEST_RTMPS_PORT): encoders publish into rooms as outside participants. */
async function ingest(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const logger = app.log as Logger;
  let ffmpegPath: string | null = null;
  const service = await IngestService.start({
    config: config.ingest,
    sources: app.ingestSources,
    rooms: app.rooms,
    registry: app.registry,
    startsBackstage: (roomId) => app.webinarsRepo.guestsStartBackstage(roomId),
    ffmpegPath: () => (ffmpegPath ??= resolveFfmpegPath(config.ffmpegPath)),
    logger,
  });
  app.decorate('ingest', service);
  const { rtmp, rtmps } = service.ports;
  if (rtmp !== null || rtmps !== null) logger.info({ rtmp, rtmps, host: config.ingest.host }, 'RTMP ingest listening');
  // Encoders are dropped before the rooms close (the shutdown hooks of app.ts run after this one).
  app.addHook('preClose', async () => service.close());
  app.addHook('onClose', async () => service.close());
}

export default fp(ingest, {
  name: 'onair-ingest',
  fastify: '5.x',
  dependencies: ['onair-storage', 'onair-sfu'],
  decorators: { fastify: ['ingestSources', 'rooms', 'registry', 'webinarsRepo'] },
});
