import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorReply, LoginBody, LoginReply, User } from '@onair/shared';
import type { FastifyInstance } from 'fastify';
import { verifyPassword } from '../auth/passwords.js';
import { AppError } from '../errors.js';
import { signedIn } from '../plugins/auth.js';

/** A stored hash to compare against when the email is unknown, so timing does not reveal it. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { tokens, users, config } = app.services;

  app.post(
    '/api/auth/login',
    { config: { auth: { roles: 'public' } }, schema: { tags: ['auth'], body: LoginBody, response: { 200: LoginReply, 401: ErrorReply, 403: ErrorReply } } },
    async (req) => {
      const found = users.findWithHashByEmail(req.body.email);
      const ok = await verifyPassword(req.body.password, found?.passwordHash ?? DUMMY_HASH);
      if (!found || !ok) throw new AppError('BAD_CREDENTIALS', 'The email or password is not right.');
      if (found.user.disabled) throw new AppError('USER_DISABLED', 'This account has been disabled.');
      if (found.user.role === 'guest') throw new AppError('FORBIDDEN', 'Guests cannot sign in.');
      const token = tokens.sign({ typ: 'session', sub: found.user.id, role: found.user.role, ver: found.tokenVersion }, config.sessionTtlSeconds);
      return { token, user: found.user };
    },
  );

  app.get(
    '/api/auth/me',
    { config: { auth: { roles: ['admin', 'host'] } }, schema: { tags: ['auth'], security: [{ bearer: [] }], response: { 200: User, 401: ErrorReply } } },
    async (req) => signedIn(req),
  );
}
