import type { FastifyInstance } from 'fastify';
import { Session } from '../signalling/Session.js';
import { iceServersFor } from '../sfu/iceServers.js';
import type { Logger } from '../logger.js';

/** GET /ws: one signalling session per socket; the first message must be `authenticate`. */
export async function wsRoute(app: FastifyInstance): Promise<void> {
  const { config, tokens, rooms, registry, broadcasts, access, webinarsRepo } = app;
  const logger = app.log as Logger;
  const openRoom = async (roomId: string) => {
    const record = rooms.get(roomId);
    return registry.open(record.id, record.name);
  };
  app.get('/ws', { websocket: true }, (socket) => {
    const session = new Session(
      { send: (text) => socket.send(text), close: (code, reason) => socket.close(code, reason) },
      {
        tokens,
        openRoom,
        admit: (claims) => access.admit(claims),
        admitWatcher: (claims) => access.admitWatcher(claims),
        findRoom: (roomId) => registry.get(roomId),
        canHost: (userKey, roomId) => access.canHost(userKey, roomId),
        iceServers: (peerId) => iceServersFor(config.turn, peerId),
        guestsStartBackstage: (roomId) => webinarsRepo.guestsStartBackstage(roomId),
        broadcasts,
        logger: logger.child({ ws: true }),
      },
    );
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        session.refuseBinary();
        return;
      }
      session.handle(Buffer.isBuffer(data) ? data : Buffer.from(data.toString()));
    });
    socket.on('close', () => session.onSocketClosed());
    socket.on('error', (err) => logger.debug({ err }, 'websocket error'));
  });
}
