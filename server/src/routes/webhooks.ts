import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateWebhookBody, CreateWebhookReply, ErrorReply, IdParams, UpdateWebhookBody, Webhook, WebhookDelivery, WebhookSecretReply } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { validateWebhookUrl } from '../webhooks/url.js';

/** Webhooks: admins register endpoints that get every event OnAir publishes, signed with a per-endpoint secret. */
export async function webhookRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { webhooks, webhookDispatcher } = app;
  const security = [{ bearer: [] }];
  const admin = { auth: { roles: ['admin' as const] } };
  const tags = ['webhooks'];

  app.get('/api/webhooks', { config: admin, schema: { tags, security, response: { 200: Type.Array(Webhook), 401: ErrorReply, 403: ErrorReply } } }, async () => webhooks.list());

  /** The reply holds the signing secret; it is shown again only by reveal or rotation. */
  app.post(
    '/api/webhooks',
    { config: admin, schema: { tags, security, body: CreateWebhookBody, response: { 201: CreateWebhookReply, 400: ErrorReply, 403: ErrorReply } } },
    async (req, reply) => {
      const url = validateWebhookUrl(req.body.url);
      const created = webhooks.create({ url, description: req.body.description ?? '' });
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.patch(
    '/api/webhooks/:id',
    { config: admin, schema: { tags, security, params: IdParams, body: UpdateWebhookBody, response: { 200: Webhook, 400: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req) => {
      const { url, ...rest } = req.body;
      return webhooks.update(req.params.id, { ...rest, ...(url !== undefined ? { url: validateWebhookUrl(url) } : {}) });
    },
  );

  app.delete(
    '/api/webhooks/:id',
    { config: admin, schema: { tags, security, params: IdParams, response: { 204: Type.Null(), 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => {
      webhooks.delete(req.params.id);
      return reply.status(204).send(null);
    },
  );

  /** Reveals the endpoint's signing secret. */
  app.get(
    '/api/webhooks/:id/secret',
    { config: admin, schema: { tags, security, params: IdParams, response: { 200: WebhookSecretReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      webhooks.get(req.params.id);
      const secret = webhooks.secret(req.params.id);
      return reply.header('cache-control', 'no-store').send({ secret: secret ?? '' });
    },
  );

  /** Rotates the signing secret: deliveries from now on are signed with the new one, which the reply holds. */
  app.post(
    '/api/webhooks/:id/secret',
    { config: admin, schema: { tags, security, params: IdParams, response: { 200: WebhookSecretReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => reply.header('cache-control', 'no-store').send({ secret: webhooks.rotateSecret(req.params.id) }),
  );

  /** Sends one `webhook.test` event now (no retries) and answers with that delivery. */
  app.post(
    '/api/webhooks/:id/test',
    { config: admin, schema: { tags, security, params: IdParams, response: { 200: WebhookDelivery, 403: ErrorReply, 404: ErrorReply } } },
    async (req) => {
      webhooks.get(req.params.id);
      return webhookDispatcher.test(req.params.id);
    },
  );
}
