import type { User } from '@onair/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RoomAccess } from '../auth/access.js';
import type { Tokens } from '../auth/tokens.js';
import { AppError } from '../errors.js';

export type AccountRole = 'admin' | 'host';

/** Who may call a route; every `/api` route declares one (`config: { auth }`), checked at boot. */
export interface RouteAuth {
  /** 'public': anyone (a signed-in caller is still identified); otherwise the account roles allowed. */
  roles: 'public' | readonly AccountRole[];
  /**
   * Scope to one room, named by a path parameter: 'host' lets the room's hosts (owner, webinar
   * hosts, admins) in, 'owner' only its owner and admins. Anyone else gets 403 (404 if no room).
   */
  room?: { param: string; right: 'host' | 'owner' };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** The signed-in caller, set by the auth hook (null on public routes without a session). */
    user: User | null;
  }
}

/** The caller of a route whose `auth.roles` is not 'public' (the hook already checked it). */
export function signedIn(req: FastifyRequest): User {
  if (!req.user) throw new AppError('UNAUTHENTICATED', 'Sign in first.');
  return req.user;
}

/**
 * Authentication and authorisation for REST, declared per route and enforced in one onRequest
 * hook: the Bearer session token is verified (signature, expiry, then the account's current
 * token version, so disabled or revoked accounts are refused on their next request), then the
 * route's roles and room scope. A route under /api that declares nothing does not start.
 */
async function authPlugin(app: FastifyInstance): Promise<void> {
  const { tokens, access, rooms } = app;
  app.decorateRequest('user', null);

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/') && !route.config?.auth) {
      throw new Error(`${String(route.method)} ${route.url} declares no config.auth: say who may call it`);
    }
  });

  app.addHook('onRequest', async (req) => {
    const auth = req.routeOptions.config.auth;
    if (!auth) return;
    req.user = readSession(req, tokens, access);
    if (auth.roles === 'public') return;
    const user = signedIn(req);
    if (!auth.roles.includes(user.role as AccountRole)) throw new AppError('FORBIDDEN', 'You are not allowed to do this.');
    if (auth.room) {
      const roomId = (req.params as Record<string, string | undefined>)[auth.room.param] ?? '';
      const room = rooms.get(roomId);
      const allowed = auth.room.right === 'owner' ? user.role === 'admin' || room.ownerId === user.id : access.roleIn(user, room.id) !== 'guest';
      if (!allowed) throw new AppError('FORBIDDEN', auth.room.right === 'owner' ? 'Only the room owner can do this.' : 'Only the hosts of this room can do this.');
    }
  });
}

/** Reads the Bearer session token: the signed-in, enabled, not revoked user, or null without one. */
function readSession(req: FastifyRequest, tokens: Tokens, access: RoomAccess): User | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new AppError('TOKEN_INVALID', 'The Authorization header must be "Bearer <token>".');
  return access.sessionUser(tokens.verifySession(match[1]));
}

export default fp(authPlugin, { name: 'onair-auth', fastify: '5.x', decorators: { fastify: ['tokens', 'access', 'rooms'] } });
