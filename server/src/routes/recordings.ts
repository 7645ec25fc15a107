import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorReply, IdParams, RecordingLink, type User } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createReadStream, statSync, type Stats } from 'node:fs';
import type { StoredRecording } from '../broadcast/Recordings.js';
import { ifRangeMatches, parseByteRange } from '../edge/byteRange.js';
import { AppError } from '../errors.js';
import { signedIn } from '../plugins/auth.js';

/**
 * How long a download link works. Long enough to watch a long broadcast in a player that seeks
 * with range requests; every request re-checks the user's rights and sessions, so removing a host
 * or signing someone out ends their links at once.
 */
const DOWNLOAD_LINK_TTL_SECONDS = 6 * 3600;

const CONTENT_TYPES = { mp4: 'video/mp4', flv: 'video/x-flv' } as const;

/** The file itself (a stream; Fastify does not serialise streams), as /docs describes it. */
const FileReply = Type.Unsafe<NodeJS.ReadableStream>({ type: 'string', format: 'binary', description: 'The recording (video/mp4, or video/x-flv when the remux failed).' });

/**
 * Recordings: download (with range requests, so players can seek) by admins and the hosts of the
 * broadcast's room, delete by admins. A browser download or a player cannot send the Bearer
 * header, so the page first asks for a short-lived link that carries a download token.
 */
export async function recordingRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { access, tokens, broadcasts } = app;
  const { recordings } = broadcasts;
  const security = [{ bearer: [] }];

  /** The recording, if `user` is an admin or a host of its room (FORBIDDEN otherwise). */
  function recordingFor(user: User, id: string): StoredRecording {
    const recording = recordings.get(id);
    if (access.roleIn(user, recording.roomId) === 'guest') {
      throw new AppError('FORBIDDEN', "Only admins and the hosts of this broadcast's room can get its recording.");
    }
    return recording;
  }

  app.post(
    '/api/recordings/:id/link',
    {
      config: { auth: { roles: ['admin', 'host'] } },
      schema: { tags: ['recordings'], security, params: IdParams, response: { 200: RecordingLink, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } },
    },
    async (req) => {
      const user = signedIn(req);
      const recording = recordingFor(user, req.params.id);
      servable(recording);
      if (user.role !== 'admin' && user.role !== 'host') throw new AppError('FORBIDDEN', 'You are not allowed to do this.');
      const ver = app.users.identity(user.id)?.tokenVersion ?? -1;
      const token = tokens.sign({ typ: 'download', sub: user.id, role: user.role, ver, rec: recording.id }, DOWNLOAD_LINK_TTL_SECONDS);
      return {
        url: `/api/recordings/${encodeURIComponent(recording.id)}/file?token=${encodeURIComponent(token)}`,
        expiresAt: new Date(Date.now() + DOWNLOAD_LINK_TTL_SECONDS * 1000).toISOString(),
      };
    },
  );

  app.get(
    '/api/recordings/:id/file',
    {
      // Signed in by the Bearer header or by the link's token (checked here, per request).
      config: { auth: { roles: 'public' } },
      // The link's token is in the URL: keep the per-request info lines (which print it) out of the log.
      logLevel: 'warn',
      schema: {
        tags: ['recordings'],
        security,
        params: IdParams,
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
        response: { 200: FileReply, 206: FileReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply, 416: ErrorReply },
      },
    },
    async (req, reply) => {
      let user = req.user;
      if (!user && req.query.token) {
        const claims = tokens.verifyDownload(req.query.token, req.params.id);
        user = access.sessionUser({ typ: 'session', sub: claims.sub, role: claims.role, ver: claims.ver });
      }
      if (!user) throw new AppError('UNAUTHENTICATED', 'Sign in first, or open the download link again.');
      const recording = recordingFor(user, req.params.id);
      servable(recording);
      let stats: Stats;
      try {
        stats = statSync(recording.path);
      } catch {
        throw new AppError('NOT_FOUND', 'The recording file is missing from the server.');
      }
      const size = stats.size;
      const etag = `"${size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
      const lastModified = stats.mtime.toUTCString();
      reply.headers({ 'accept-ranges': 'bytes', 'cache-control': 'private, no-cache', etag, 'last-modified': lastModified });
      const range = ifRangeMatches(headerValue(req.headers['if-range']), etag, lastModified) ? parseByteRange(req.headers.range, size) : { kind: 'full' as const };
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${size}`);
        return reply.status(416).send({ error: { code: 'BAD_REQUEST', message: `The requested range is outside the file (${size} bytes).` } });
      }
      reply.headers({
        'content-type': CONTENT_TYPES[recording.format],
        'content-disposition': `attachment; filename="${recording.fileName.replace(/[^\w.-]/g, '_')}"`,
      });
      switch (range.kind) {
        case 'partial':
          reply.status(206).headers({ 'content-range': `bytes ${range.start}-${range.end}/${size}`, 'content-length': String(range.end - range.start + 1) });
          return reply.send(createReadStream(recording.path, { start: range.start, end: range.end }));
        case 'full':
          reply.status(200).header('content-length', String(size));
          return reply.send(createReadStream(recording.path));
      }
    },
  );

  app.delete(
    '/api/recordings/:id',
    {
      config: { auth: { roles: ['admin'] } },
      schema: { tags: ['recordings'], security, params: IdParams, response: { 204: Type.Null(), 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } },
    },
    async (req, reply) => {
      recordings.delete(req.params.id);
      return reply.status(204).send(null);
    },
  );
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Only a finished recording is served: while it is written or converted the file is still changing. */
function servable(recording: StoredRecording): void {
  if (recording.state === 'deleted') throw new AppError('NOT_FOUND', 'This recording was deleted.');
  if (recording.state === 'recording' || recording.state === 'processing') {
    throw new AppError('RECORDING_NOT_READY', 'This recording is still being written. It can be downloaded once the broadcast has ended and it has been converted.');
  }
}
