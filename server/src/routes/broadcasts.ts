import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BroadcastRecord, ErrorReply, IdParams, LOGO_MAX_BYTES, LogoCornerBody, LogoUploadQuery, PreviewTokenReply, RoomBroadcastReply, RoomLogoReply } from '@onair/shared';
import { AppError } from '../errors.js';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { signedIn } from '../plugins/auth.js';

/** A preview token is used once, to authenticate; the dashboard asks for a new one on each connect. */
const PREVIEW_TOKEN_TTL_SECONDS = 120;

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
    async (req) => {
      const room = app.registry.get(req.params.id);
      return { broadcast: broadcasts.liveStatus(req.params.id), roomOpen: room !== undefined && !room.closed };
    },
  );

  /**
   * A token to watch the room's program preview from the dashboard, for the room's hosts (owner,
   * webinar hosts, admins). The WebSocket session it opens only receives and never joins; its rights
   * and the account's token version are checked again when it authenticates.
   */
  app.post(
    '/api/rooms/:id/broadcast/preview-token',
    {
      config: { auth: { roles: ['admin', 'host'], room: { param: 'id', right: 'host' } } },
      schema: {
        tags: ['broadcasts'],
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: PreviewTokenReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply },
      },
    },
    async (req) => {
      const user = signedIn(req);
      const ver = app.users.identity(user.id)?.tokenVersion ?? -1;
      const token = app.tokens.sign({ typ: 'preview', sub: user.id, room: req.params.id, name: user.name, ver }, PREVIEW_TOKEN_TTL_SECONDS);
      return { token, expiresAt: new Date(Date.now() + PREVIEW_TOKEN_TTL_SECONDS * 1000).toISOString() };
    },
  );

  // A logo arrives as the raw PNG bytes. The parser reads a little past the limit so that a file
  // too large is refused by setLogo in plain words rather than by the body limit.
  app.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: LOGO_MAX_BYTES * 4 }, (_req, body, done) => done(null, body));

  const logoRoute = {
    config: { auth: { roles: ['admin', 'host'] as Array<'admin' | 'host'>, room: { param: 'id', right: 'host' as const } } },
    schema: {
      tags: ['broadcasts'],
      security: [{ bearer: [] }],
      params: IdParams,
      response: { 200: RoomBroadcastReply, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 413: ErrorReply },
    },
  };

  /** The room's stored logo (for the webinar form and the Go live panel), or null. */
  app.get('/api/rooms/:id/broadcast/logo', { ...logoRoute, schema: { ...logoRoute.schema, response: { 200: RoomLogoReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply } } }, async (req) => {
    const logo = broadcasts.logos.find(req.params.id);
    return {
      logo: logo && {
        corner: logo.corner,
        bytes: logo.png.length,
        updatedAt: logo.updatedAt,
        dataUrl: `data:image/png;base64,${logo.png.toString('base64')}`,
      },
    };
  });

  /**
   * The room's logo: a PNG (at most 512 kB), kept for every later broadcast of the room (a webinar's
   * scheduled one included) and on air at once when live; `?corner=` places it (default: where the
   * room's logo was, top right at first).
   */
  app.put(
    '/api/rooms/:id/broadcast/logo',
    { ...logoRoute, bodyLimit: LOGO_MAX_BYTES * 4, schema: { ...logoRoute.schema, querystring: LogoUploadQuery } },
    async (req) => {
      if (!Buffer.isBuffer(req.body)) throw new AppError('LOGO_INVALID', 'Send the logo as a PNG image (Content-Type: image/png).');
      return { broadcast: await broadcasts.setLogo(req.params.id, req.body, req.query.corner) };
    },
  );

  /** Moves the room's logo to another corner (on air at once when live). */
  app.patch('/api/rooms/:id/broadcast/logo', { ...logoRoute, schema: { ...logoRoute.schema, body: LogoCornerBody } }, async (req) => ({
    broadcast: broadcasts.setLogoCorner(req.params.id, req.body.corner),
  }));

  /** Takes the room's logo off air and forgets it. */
  app.delete('/api/rooms/:id/broadcast/logo', logoRoute, async (req) => ({ broadcast: await broadcasts.removeLogo(req.params.id) }));
}
