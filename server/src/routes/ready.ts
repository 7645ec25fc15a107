import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notReadyMessage, readiness } from '../health/readiness.js';
import { resolveFfmpegPath } from '../media/ffmpegPath.js';

const Check = Type.Object({ ok: Type.Boolean(), message: Type.String() });
const ReadyReply = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Object({ database: Check, workers: Check, ffmpeg: Check }),
  /** When not ready: the failed checks in plain words. */
  message: Type.Optional(Type.String()),
});

/** GET /api/ready: 200 when the database answers, every mediasoup worker runs and ffmpeg is found; 503 saying which is not. */
export async function readyRoute(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db, pool, config } = app;
  app.get(
    '/api/ready',
    {
      config: { auth: { roles: 'public' } },
      schema: { tags: ['health'], response: { 200: ReadyReply, 503: ReadyReply } },
    },
    async (_req, reply) => {
      const result = readiness({
        queryDatabase: () => db.prepare('SELECT 1').get(),
        workers: () => pool.workers,
        resolveFfmpeg: () => resolveFfmpegPath(config.ffmpegPath),
      });
      if (result.ok) return result;
      return reply.status(503).send({ ...result, message: `Not ready. ${notReadyMessage(result)}` });
    },
  );
}
