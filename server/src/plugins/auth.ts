import type { FastifyRequest } from 'fastify';
import type { User } from '@onair/shared';
import type { Tokens } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import type { UsersRepo } from '../persistence/users.js';

/** Reads the Bearer session token and returns the signed-in, enabled user, or null. */
export function optionalUser(req: FastifyRequest, tokens: Tokens, users: UsersRepo): User | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match?.[1]) throw new AppError('TOKEN_INVALID', 'The Authorization header must be "Bearer <token>".');
  const claims = tokens.verifySession(match[1]);
  const user = users.find(claims.sub);
  if (!user) throw new AppError('TOKEN_INVALID', 'The token is not valid.');
  if (user.disabled) throw new AppError('USER_DISABLED', 'This account has been disabled.');
  return user;
}

/** The signed-in user, who must have one of the roles. */
export function requireUser(req: FastifyRequest, tokens: Tokens, users: UsersRepo, roles: Array<'admin' | 'host'> = ['admin', 'host']): User {
  const user = optionalUser(req, tokens, users);
  if (!user) throw new AppError('UNAUTHENTICATED', 'Sign in first.');
  if (user.role === 'guest' || !roles.includes(user.role)) throw new AppError('FORBIDDEN', 'You are not allowed to do this.');
  return user;
}
