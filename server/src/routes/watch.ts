import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorReply, EventFileParams, EventFileQuery, EventPageInfo, EventPageParams, EventPageQuery } from '@onair/shared';
import type { FastifyInstance } from 'fastify';
import { createReadStream } from 'node:fs';

/**
 * The OnAir event pages, for viewers: no sign-in (a private page needs the token of its signed
 * link). The page polls its state and counts itself as a viewer; the player reads the HLS files.
 */
export async function watchRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { eventPages } = app;
  const errors = { 400: ErrorReply, 401: ErrorReply, 404: ErrorReply };

  app.get(
    '/api/watch/:slug',
    // Every open page polls every 5 s and its player fetches a segment every 2 s: not logged one by one.
    { logLevel: 'warn', config: { auth: { roles: 'public' } }, schema: { tags: ['event pages'], params: EventPageParams, querystring: EventPageQuery, response: { 200: EventPageInfo, ...errors } } },
    async (req, reply) => {
      reply.header('Cache-Control', 'no-store');
      return eventPages.info(req.params.slug, req.query);
    },
  );

  app.get(
    '/api/watch/:slug/hls/:file',
    { logLevel: 'warn', config: { auth: { roles: 'public' } }, schema: { tags: ['event pages'], params: EventFileParams, querystring: EventFileQuery } },
    async (req, reply) => {
      const file = await eventPages.file(req.params.slug, req.params.file, req.query.token);
      reply.type(file.contentType).header('Cache-Control', file.cacheControl);
      return file.kind === 'playlist' ? reply.send(file.body) : reply.send(createReadStream(file.path));
    },
  );
}
