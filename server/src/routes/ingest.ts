import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateIngestSourceBody, ErrorReply, IdParams, IngestKeyReply, IngestSource, IngestSourceParams } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { signedIn } from '../plugins/auth.js';

/**
 * A room's RTMP ingest sources: its hosts (owner, webinar hosts) and admins add them, read the
 * server URL and the stream key (masked; revealed on request), rotate the key and delete them.
 */
export async function ingestRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { ingestSources, ingest } = app;
  const security = [{ bearer: [] }];
  const tags = ['ingest'];
  const hosts = { auth: { roles: ['admin' as const, 'host' as const], room: { param: 'id', right: 'host' as const } } };

  app.get(
    '/api/rooms/:id/ingest',
    { config: hosts, schema: { tags, security, params: IdParams, response: { 200: Type.Array(IngestSource), 401: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req) => ingestSources.list(req.params.id).map((s) => ingest.toApi(s)),
  );

  /** The key is made by the server; the reply shows it masked (reveal it with GET …/key). */
  app.post(
    '/api/rooms/:id/ingest',
    { config: hosts, schema: { tags, security, params: IdParams, body: CreateIngestSourceBody, response: { 201: IngestSource, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => {
      const created = ingestSources.create({ roomId: req.params.id, name: req.body.name, createdBy: signedIn(req).id });
      return reply.status(201).send(ingest.toApi(created));
    },
  );

  /** Reveals the stream key. */
  app.get(
    '/api/rooms/:id/ingest/:sourceId/key',
    { config: hosts, schema: { tags, security, params: IngestSourceParams, response: { 200: IngestKeyReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      const source = ingestSources.inRoom(req.params.id, req.params.sourceId);
      return reply.header('cache-control', 'no-store').send({ streamKey: ingestSources.streamKey(source.id) });
    },
  );

  /** A new key; the old one stops working at once and an encoder publishing with it is dropped. */
  app.post(
    '/api/rooms/:id/ingest/:sourceId/key',
    { config: hosts, schema: { tags, security, params: IngestSourceParams, response: { 200: IngestKeyReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => {
      const source = ingestSources.inRoom(req.params.id, req.params.sourceId);
      const streamKey = ingestSources.rotateKey(source.id);
      await ingest.disconnect(source.id);
      return reply.header('cache-control', 'no-store').send({ streamKey });
    },
  );

  /** Deletes the source; if it is publishing, it leaves the meeting now. */
  app.delete(
    '/api/rooms/:id/ingest/:sourceId',
    { config: hosts, schema: { tags, security, params: IngestSourceParams, response: { 204: Type.Null(), 401: ErrorReply, 403: ErrorReply, 404: ErrorReply } } },
    async (req, reply) => {
      const source = ingestSources.inRoom(req.params.id, req.params.sourceId);
      ingestSources.delete(source.id);
      await ingest.disconnect(source.id);
      return reply.status(204).send(null);
    },
  );
}
