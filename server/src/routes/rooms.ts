import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateRoomBody, ErrorReply, IdParams, JoinRoomBody, JoinRoomReply, Room, RoomPreview } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../app.js';
import type { Tokens } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import type { RoomRecord } from '../persistence/rooms.js';
import { optionalUser, requireUser } from '../plugins/auth.js';

/** Join links carry a signed invite so only people given the link can ask for a guest token. */
export function makeInviteUrl(tokens: Tokens, publicUrl: string): (roomId: string) => string {
  return (roomId) => `${publicUrl}/join/${roomId}?invite=${encodeURIComponent(tokens.sign({ typ: 'invite', room: roomId }))}`;
}

export function roomLiveInfo(services: Services, roomId: string): { participants: number; live: boolean } {
  const live = services.registry.get(roomId);
  return { participants: live?.joinedPeers.length ?? 0, live: services.broadcasts.isLive(roomId) };
}

function toRoom(services: Services, r: RoomRecord): Room {
  return { ...r, joinUrl: services.inviteUrl(r.id), ...roomLiveInfo(services, r.id) };
}

export async function roomRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const services = app.services;
  const { tokens, users, rooms, config } = services;

  app.get(
    '/api/rooms',
    { schema: { tags: ['rooms'], security: [{ bearer: [] }], response: { 200: Type.Array(Room), 401: ErrorReply } } },
    async (req) => {
      const user = requireUser(req, tokens, users);
      return rooms.list(user.role === 'admin' ? null : user.id).map((r) => toRoom(services, r));
    },
  );

  app.post(
    '/api/rooms',
    { schema: { tags: ['rooms'], security: [{ bearer: [] }], body: CreateRoomBody, response: { 201: Room, 400: ErrorReply, 401: ErrorReply } } },
    async (req, reply) => {
      const user = requireUser(req, tokens, users);
      const room = rooms.create(req.body.name.trim(), user.id);
      return reply.status(201).send(toRoom(services, room));
    },
  );

  app.delete(
    '/api/rooms/:id',
    { schema: { tags: ['rooms'], security: [{ bearer: [] }], params: IdParams, response: { 204: Type.Null(), 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => {
      const user = requireUser(req, tokens, users);
      const room = rooms.get(req.params.id);
      if (user.role !== 'admin' && room.ownerId !== user.id) throw new AppError('FORBIDDEN', 'Only the room owner can delete it.');
      rooms.delete(room.id);
      await services.registry.get(room.id)?.close();
      return reply.status(204).send(null);
    },
  );

  /** What the join page shows before asking for a name; refuses forged invites right away. */
  app.get(
    '/api/rooms/:id/preview',
    {
      schema: {
        tags: ['rooms'],
        params: IdParams,
        querystring: Type.Object({ invite: Type.Optional(Type.String({ maxLength: 4096 })) }),
        response: { 200: RoomPreview, 401: ErrorReply, 404: ErrorReply },
      },
    },
    async (req) => {
      const room = rooms.get(req.params.id);
      const user = optionalUser(req, tokens, users);
      if (!user) {
        if (!req.query.invite) throw new AppError('INVITE_INVALID', 'This invitation link is not valid. Ask the host for a new link.');
        tokens.verifyInvite(req.query.invite, room.id);
      }
      return { id: room.id, name: room.name, ...roomLiveInfo(services, room.id) };
    },
  );

  /** Hands out the short-lived room token the WebSocket wants first. */
  app.post(
    '/api/rooms/:id/join',
    { schema: { tags: ['rooms'], params: IdParams, body: JoinRoomBody, response: { 200: JoinRoomReply, 401: ErrorReply, 404: ErrorReply } } },
    async (req) => {
      const room = rooms.get(req.params.id);
      const user = optionalUser(req, tokens, users);
      const displayName = req.body.displayName.trim();
      if (!displayName) throw new AppError('VALIDATION_FAILED', 'Enter your name.');
      let claims: { sub: string; role: 'admin' | 'host' | 'guest' };
      if (user && user.role !== 'guest') {
        claims = { sub: user.id, role: user.role };
      } else {
        if (!req.body.invite) throw new AppError('INVITE_INVALID', 'This invitation link is not valid. Ask the host for a new link.');
        tokens.verifyInvite(req.body.invite, room.id);
        claims = { sub: `guest:${randomUUID()}`, role: 'guest' };
      }
      const ttl = config.guestTokenTtlSeconds;
      const token = tokens.sign({ typ: 'room', ...claims, room: room.id, name: displayName }, ttl);
      return {
        token,
        room: { id: room.id, name: room.name, ...roomLiveInfo(services, room.id) },
        role: claims.role,
        expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
      };
    },
  );
}
