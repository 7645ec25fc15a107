import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { RoomRegistry } from '../sfu/RoomRegistry.js';
import { WorkerPool } from '../sfu/WorkerPool.js';

declare module 'fastify' {
  interface FastifyInstance {
    pool: WorkerPool;
    /** The rooms open now (one mediasoup router each). */
    registry: RoomRegistry;
  }
}

/** The mediasoup workers (one WebRTC port each) and the open rooms. */
async function sfu(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const logger = app.log as Logger;
  const pool = await WorkerPool.create({
    numWorkers: config.mediasoup.numWorkers,
    workerBin: config.mediasoup.workerBin,
    listenIp: config.mediasoup.listenIp,
    announcedAddress: config.mediasoup.announcedAddress,
    ports: config.mediasoup.ports,
    logger,
  });
  app.decorate('pool', pool);
  app.decorate('registry', new RoomRegistry({ pool, graceMs: config.roomGraceMs, logger }));
}

export default fp(sfu, { name: 'onair-sfu', fastify: '5.x' });
