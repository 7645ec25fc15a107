import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Camera, CameraParams, CreateCameraBody, ErrorReply, IdParams, UpdateCameraBody } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/**
 * A room's IP cameras (RTSP/RTSPS): admins and the room's hosts add, change and remove them; the
 * list carries each camera's live state. URLs come back with their credentials masked.
 */
export async function cameraRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { cameras } = app;
  const security = [{ bearer: [] }];
  const auth = { roles: ['admin', 'host'] as const, room: { param: 'id', right: 'host' as const } };

  app.get(
    '/api/rooms/:id/cameras',
    { config: { auth }, schema: { tags: ['cameras'], security, params: IdParams, response: { 200: Type.Array(Camera), 401: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req) => cameras.list(req.params.id),
  );

  app.post(
    '/api/rooms/:id/cameras',
    { config: { auth }, schema: { tags: ['cameras'], security, params: IdParams, body: CreateCameraBody, response: { 201: Camera, 400: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => reply.status(201).send(cameras.create(req.params.id, req.body)),
  );

  app.patch(
    '/api/rooms/:id/cameras/:cameraId',
    { config: { auth }, schema: { tags: ['cameras'], security, params: CameraParams, body: UpdateCameraBody, response: { 200: Camera, 400: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req) => cameras.update(req.params.id, req.params.cameraId, req.body),
  );

  app.delete(
    '/api/rooms/:id/cameras/:cameraId',
    { config: { auth }, schema: { tags: ['cameras'], security, params: CameraParams, response: { 204: Type.Null(), 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => {
      await cameras.delete(req.params.id, req.params.cameraId);
      return reply.status(204).send(null);
    },
  );
}
