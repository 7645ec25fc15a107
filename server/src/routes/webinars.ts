import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateWebinarBody, ErrorReply, IdParams, UpdateWebinarBody, Webinar } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireUser } from '../plugins/auth.js';

/** Webinars: admins schedule, edit and cancel; hosts see the ones they host. */
export async function webinarRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { tokens, users, webinars } = app.services;
  const security = [{ bearer: [] }];
  const errors = { 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply };

  app.get('/api/webinars', { schema: { tags: ['webinars'], security, response: { 200: Type.Array(Webinar), ...errors } } }, async (req) =>
    webinars.list(requireUser(req, tokens, users)),
  );

  app.get('/api/webinars/:id', { schema: { tags: ['webinars'], security, params: IdParams, response: { 200: Webinar, ...errors } } }, async (req) =>
    webinars.get(requireUser(req, tokens, users), req.params.id),
  );

  app.post(
    '/api/webinars',
    { schema: { tags: ['webinars'], security, body: CreateWebinarBody, response: { 201: Webinar, ...errors } } },
    async (req, reply) => reply.status(201).send(webinars.create(requireUser(req, tokens, users, ['admin']), req.body)),
  );

  app.patch(
    '/api/webinars/:id',
    { schema: { tags: ['webinars'], security, params: IdParams, body: UpdateWebinarBody, response: { 200: Webinar, ...errors } } },
    async (req) => {
      requireUser(req, tokens, users, ['admin']);
      return webinars.update(req.params.id, req.body);
    },
  );

  /** Cancels (a live one stops now); the webinar stays in the list as cancelled. */
  app.post(
    '/api/webinars/:id/cancel',
    { schema: { tags: ['webinars'], security, params: IdParams, response: { 200: Webinar, ...errors } } },
    async (req) => {
      requireUser(req, tokens, users, ['admin']);
      return webinars.cancel(req.params.id);
    },
  );
}
