import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateDestinationBody, Destination, DestinationTestQuery, DestinationTestReply, ErrorReply, IdParams, UpdateDestinationBody } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { validateRtmpUrl } from '../destinations/url.js';
import { AppError } from '../errors.js';
import { resolvePublishTarget } from '../destinations/PublishTarget.js';

/** Destinations: admins manage them (hosts see them, keys masked, through /api/rooms/:id/destinations). */
export async function destinationRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { destinations, broadcasts, webinars } = app;
  const security = [{ bearer: [] }];

  app.get('/api/destinations', { config: { auth: { roles: ['admin'] } }, schema: { tags: ['destinations'], security, response: { 200: Type.Array(Destination), 401: ErrorReply } } }, async (req) => {
    return destinations.list();
  });

  app.post(
    '/api/destinations',
    { config: { auth: { roles: ['admin'] } }, schema: { tags: ['destinations'], security, body: CreateDestinationBody, response: { 201: Destination, 400: ErrorReply, 403: ErrorReply } } },
    async (req, reply) => {
      validateRtmpUrl(req.body.serverUrl);
      const created = destinations.create(req.body);
      return reply.status(201).send(created);
    },
  );

  app.patch(
    '/api/destinations/:id',
    { config: { auth: { roles: ['admin'] } }, schema: { tags: ['destinations'], security, params: IdParams, body: UpdateDestinationBody, response: { 200: Destination, 400: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req) => {
      if (req.body.serverUrl !== undefined) validateRtmpUrl(req.body.serverUrl);
      return destinations.update(req.params.id, req.body);
    },
  );

  /**
   * Refused with DESTINATION_IN_USE while upcoming webinars push to it, unless ?force=true, which
   * removes it from them (each gets a warning) and from any live broadcast.
   */
  app.delete(
    '/api/destinations/:id',
    {
      config: { auth: { roles: ['admin'] } },
      schema: {
        tags: ['destinations'],
        security,
        params: IdParams,
        querystring: Type.Object({ force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }),
        response: { 204: Type.Null(), 403: ErrorReply, 404: ErrorReply, 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const destination = destinations.get(req.params.id);
      const using = webinars.usingDestination(destination.id);
      if (using.length > 0 && req.query.force !== 'true') {
        throw new AppError(
          'DESTINATION_IN_USE',
          `"${destination.name}" is used by ${using.map((w) => `"${w.title}"`).join(', ')}. Delete it anyway to remove it from ${using.length === 1 ? 'that webinar' : 'those webinars'}.`,
        );
      }
      webinars.detachDestination(destination.id, destination.name);
      destinations.delete(destination.id);
      broadcasts.onDestinationDeleted(destination.id);
      return reply.status(204).send(null);
    },
  );

  /**
   * Preflight: a short real push with the broadcast's encoder profile at the chosen resolution,
   * reported rule by rule (profile, size and frame rate, keyframes, bitrate, audio, accepted).
   */
  app.post(
    '/api/destinations/:id/test',
    {
      config: { auth: { roles: ['admin'] } },
      schema: { tags: ['destinations'], security, params: IdParams, querystring: DestinationTestQuery, response: { 200: DestinationTestReply, 400: ErrorReply, 403: ErrorReply, 404: ErrorReply } },
    },
    async (req) => {
      return broadcasts.testDestination(resolvePublishTarget(destinations.withKey(req.params.id)), req.query.resolution ?? '720p');
    },
  );
}
