import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateRoomBody, Destination, ErrorReply, IdParams, JoinRoomBody, JoinRoomReply, Room, RoomPreview, type Role } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { RoomRecord } from '../persistence/rooms.js';
import { signedIn } from '../plugins/auth.js';
import { perClientIp } from '../plugins/rateLimit.js';

function liveInfo(app: FastifyInstance, roomId: string): { participants: number; live: boolean } {
  const live = app.registry.get(roomId);
  return { participants: live?.joinedPeers.length ?? 0, live: app.broadcasts.isLive(roomId) };
}

export async function roomRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { rooms, access, destinations, invites, tokens, config } = app;
  const toRoom = (r: RoomRecord): Room => ({ ...r, joinUrl: invites.url(r.id), ...liveInfo(app, r.id) });
  // Public routes that check invite tokens: per client IP, so nobody can guess at them fast.
  const joinLimit = perClientIp(config.rateLimits.joinPerMinute, 60_000, 'Too many attempts to join a meeting.');

  app.get(
    '/api/rooms',
    { config: { auth: { roles: ['admin', 'host'] } }, schema: { tags: ['rooms'], security: [{ bearer: [] }], response: { 200: Type.Array(Room), 401: ErrorReply } } },
    async (req) => {
      const user = signedIn(req);
      return rooms.list(user.role === 'admin' ? null : user.id).map((r) => toRoom(r));
    },
  );

  app.post(
    '/api/rooms',
    {
      config: { auth: { roles: ['admin', 'host'] } },
      schema: { tags: ['rooms'], security: [{ bearer: [] }], body: CreateRoomBody, response: { 201: Room, 400: ErrorReply, 401: ErrorReply } },
    },
    async (req, reply) => {
      const room = rooms.create(req.body.name, signedIn(req).id);
      return reply.status(201).send(toRoom(room));
    },
  );

  app.delete(
    '/api/rooms/:id',
    {
      config: { auth: { roles: ['admin', 'host'], room: { param: 'id', right: 'owner' } } },
      schema: { tags: ['rooms'], security: [{ bearer: [] }], params: IdParams, response: { 204: Type.Null(), 403: ErrorReply, 404: ErrorReply } },
    },
    async (req, reply) => {
      rooms.delete(req.params.id);
      // Everyone in it leaves now; their room tokens stop working because the room is gone.
      await app.registry.get(req.params.id)?.close({ code: 'ROOM_CLOSED', message: 'The host deleted this meeting.' });
      return reply.status(204).send(null);
    },
  );

  /** What the Go live panel offers: destinations (keys masked), for the room's hosts only. */
  app.get(
    '/api/rooms/:id/destinations',
    {
      config: { auth: { roles: ['admin', 'host'], room: { param: 'id', right: 'host' } } },
      schema: { tags: ['rooms'], security: [{ bearer: [] }], params: IdParams, response: { 200: Type.Array(Destination), 403: ErrorReply, 404: ErrorReply } },
    },
    async () => destinations.list(),
  );

  /** What the join page shows before asking for a name; refuses forged invites right away. */
  app.get(
    '/api/rooms/:id/preview',
    {
      config: { auth: { roles: 'public' }, rateLimit: joinLimit },
      schema: {
        tags: ['rooms'],
        params: IdParams,
        querystring: Type.Object({ invite: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
        response: { 200: RoomPreview, 401: ErrorReply, 404: ErrorReply, 429: ErrorReply },
      },
    },
    async (req) => {
      const room = rooms.get(req.params.id);
      if (!req.user || access.roleIn(req.user, room.id) === 'guest') invites.verify(req.query.invite, room.id);
      return { id: room.id, name: room.name, ...liveInfo(app, room.id) };
    },
  );

  /** Hands out the short-lived room token the WebSocket wants first. */
  app.post(
    '/api/rooms/:id/join',
    {
      config: { auth: { roles: 'public' }, rateLimit: joinLimit },
      schema: { tags: ['rooms'], params: IdParams, body: JoinRoomBody, response: { 200: JoinRoomReply, 401: ErrorReply, 404: ErrorReply, 429: ErrorReply } },
    },
    async (req) => {
      const room = rooms.get(req.params.id);
      const displayName = req.body.displayName;
      // Hosts of this room (owner, webinar hosts, admins) enter as hosts; anyone else, signed in
      // or not, is a guest and needs the room's invite like any guest.
      const role = req.user ? access.roleIn(req.user, room.id) : 'guest';
      let claims: { sub: string; role: Role; ver?: number };
      if (req.user && role !== 'guest') {
        claims = { sub: req.user.id, role, ver: app.users.identity(req.user.id)?.tokenVersion ?? -1 };
      } else {
        invites.verify(req.body.invite, room.id);
        claims = { sub: `guest:${randomUUID()}`, role: 'guest' };
      }
      const ttl = config.guestTokenTtlSeconds;
      const token = tokens.sign({ typ: 'room', ...claims, room: room.id, name: displayName }, ttl);
      return {
        token,
        room: { id: room.id, name: room.name, ...liveInfo(app, room.id) },
        role: claims.role,
        expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
      };
    },
  );
}
