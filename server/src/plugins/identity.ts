import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RoomAccess } from '../auth/access.js';
import { Invites } from '../auth/invites.js';
import { Tokens } from '../auth/tokens.js';
import type { Config } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    tokens: Tokens;
    /** Who is a host of which room, and whether a token was revoked. */
    access: RoomAccess;
    invites: Invites;
  }
}

/** Tokens (sessions, room tokens, invites) and the access model over the stored accounts. */
async function identity(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const tokens = new Tokens(app.keys.tokenKey);
  app.decorate('tokens', tokens);
  app.decorate('access', new RoomAccess({ users: app.users, rooms: app.rooms, webinars: app.webinarsRepo }));
  app.decorate('invites', new Invites(tokens, config.publicUrl));
}

export default fp(identity, {
  name: 'onair-identity',
  fastify: '5.x',
  dependencies: ['onair-storage'],
  decorators: { fastify: ['keys', 'users', 'rooms', 'webinarsRepo'] },
});
