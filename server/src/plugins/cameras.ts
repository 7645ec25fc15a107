import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CameraService } from '../cameras/CameraService.js';
import type { Config } from '../config.js';
import { OutsideParticipant } from '../ingest/OutsideParticipant.js';
import type { Logger } from '../logger.js';
import { systemClock } from '../media/clock.js';
import { resolveFfmpegPath } from '../media/ffmpegPath.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The rooms' IP cameras: settings and, while a room is open, their pulls. */
    cameras: CameraService;
  }
}

/** IP cameras (RTSP/RTSPS) pulled into their rooms while the rooms are open. */
async function cameras(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const logger = (app.log as Logger).child({ cameras: true });
  let ffmpegPath: string | undefined;
  const resolveFfmpeg = (): string => (ffmpegPath ??= resolveFfmpegPath(config.ffmpegPath));
  const service = new CameraService({
    repo: app.camerasRepo,
    openRoom: (roomId) => app.registry.get(roomId),
    // A camera joins like a guest: on air in a meeting; backstage in a webinar whose guests start backstage.
    join: (room, camera) => {
      const backstage = app.webinarsRepo.guestsStartBackstage(room.id);
      return OutsideParticipant.join({
        room,
        sourceId: camera.id,
        displayName: camera.name,
        kind: 'rtsp',
        onAir: { camera: !backstage, screen: !backstage },
        ffmpegPath: resolveFfmpeg(),
        logger,
      });
    },
    ffmpegPath: resolveFfmpeg,
    logger,
    clock: systemClock,
  });
  app.decorate('cameras', service);
  app.registry.on('roomopened', (room) => service.roomOpened(room));
  app.addHook('preClose', async () => service.close());
}

export default fp(cameras, {
  name: 'onair-cameras',
  fastify: '5.x',
  dependencies: ['onair-storage', 'onair-sfu'],
  decorators: { fastify: ['camerasRepo', 'registry', 'webinarsRepo'] },
});
