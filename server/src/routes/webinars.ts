import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateWebinarBody, ErrorReply, EventLink, EventLinkBody, IdParams, UpdateWebinarBody, Webinar } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { signedIn } from '../plugins/auth.js';

/** Webinars: admins schedule, edit and cancel; hosts see the ones they host. */
export async function webinarRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { webinars } = app;
  const security = [{ bearer: [] }];
  const errors = { 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply };

  app.get('/api/webinars', { config: { auth: { roles: ['admin', 'host'] } }, schema: { tags: ['webinars'], security, response: { 200: Type.Array(Webinar), ...errors } } }, async (req) =>
    webinars.list(signedIn(req)),
  );

  app.get('/api/webinars/:id', { config: { auth: { roles: ['admin', 'host'] } }, schema: { tags: ['webinars'], security, params: IdParams, response: { 200: Webinar, ...errors } } }, async (req) =>
    webinars.get(signedIn(req), req.params.id),
  );

  app.post(
    '/api/webinars',
    { config: { auth: { roles: ['admin'] } }, schema: { tags: ['webinars'], security, body: CreateWebinarBody, response: { 201: Webinar, ...errors } } },
    async (req, reply) => reply.status(201).send(webinars.create(signedIn(req), req.body)),
  );

  app.patch(
    '/api/webinars/:id',
    { config: { auth: { roles: ['admin'] } }, schema: { tags: ['webinars'], security, params: IdParams, body: UpdateWebinarBody, response: { 200: Webinar, ...errors } } },
    async (req) => {
      return webinars.update(req.params.id, req.body);
    },
  );

  /** Cancels (a live one stops now); the webinar stays in the list as cancelled. */
  app.post(
    '/api/webinars/:id/cancel',
    { config: { auth: { roles: ['admin'] } }, schema: { tags: ['webinars'], security, params: IdParams, response: { 200: Webinar, ...errors } } },
    async (req) => {
      return webinars.cancel(req.params.id);
    },
  );

  /** A new signed link to the webinar's private event page (expires; making another revokes it). */
  app.post(
    '/api/webinars/:id/event-link',
    { config: { auth: { roles: ['admin'] } }, schema: { tags: ['webinars'], security, params: IdParams, body: EventLinkBody, response: { 200: EventLink, ...errors } } },
    async (req) => webinars.eventLink(req.params.id, req.body?.expiresInHours),
  );
}
