import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BroadcastRecord, ErrorReply, IdParams, RoomBroadcastReply } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { signedIn } from '../plugins/auth.js';

/** Broadcast history: every broadcast, manual or scheduled, with each destination's outcome. */
export async function broadcastRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { broadcasts } = app;
  app.get(
    '/api/broadcasts',
    {
      config: { auth: { roles: ['admin', 'host'] } },
      schema: {
        tags: ['broadcasts'],
        security: [{ bearer: [] }],
        querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) }),
        response: { 200: Type.Array(BroadcastRecord), 401: ErrorReply },
      },
    },
    async (req) => broadcasts.history(signedIn(req), Number(req.query.limit ?? 100)),
  );

  /** The room's live broadcast with its last minutes of health (the admin's live view of a webinar). */
  app.get(
    '/api/rooms/:id/broadcast',
    {
      config: { auth: { roles: ['admin', 'host'], room: { param: 'id', right: 'host' } } },
      schema: {
        tags: ['broadcasts'],
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: RoomBroadcastReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply },
      },
    },
    async (req) => ({ broadcast: broadcasts.liveStatus(req.params.id) }),
  );
}
