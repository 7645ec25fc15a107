import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorReply, LoginBody, LoginReply, User } from '@onair/shared';
import type { FastifyInstance } from 'fastify';
import { DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from '../auth/passwords.js';
import { AppError } from '../errors.js';
import { signedIn } from '../plugins/auth.js';
import { FailureLimit, perClientIp } from '../plugins/rateLimit.js';

const TOO_MANY_SIGN_INS = 'Too many sign-in attempts.';

/** The account a sign-in is for, as the per-account limit counts it (unknown emails count too). */
function accountKey(body: unknown): string {
  const email = typeof body === 'object' && body !== null && 'email' in body && typeof body.email === 'string' ? body.email : '';
  return `login:${email.trim().toLowerCase()}`;
}

export async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { tokens, users, config } = app;
  const windowMs = config.rateLimits.loginWindowSeconds * 1000;
  // Guessing one account's password from many addresses: its failures are counted, whoever sends them.
  const perAccount = new FailureLimit(app, { max: config.rateLimits.loginPerAccount, windowMs, key: (req) => accountKey(req.body), what: TOO_MANY_SIGN_INS });

  app.post(
    '/api/auth/login',
    {
      config: {
        auth: { roles: 'public' },
        // One address trying many accounts; every attempt counts, as each costs a password hash.
        rateLimit: perClientIp(config.rateLimits.loginPerIp, windowMs, TOO_MANY_SIGN_INS),
      },
      schema: { tags: ['auth'], body: LoginBody, response: { 200: LoginReply, 401: ErrorReply, 403: ErrorReply, 429: ErrorReply } },
    },
    async (req, reply) => {
      const found = users.findWithHashByEmail(req.body.email);
      const ok = await perAccount.run(req, reply, () => verifyPassword(req.body.password, found?.passwordHash ?? DUMMY_HASH));
      if (!found || !ok) throw new AppError('BAD_CREDENTIALS', 'The email or password is not right.');
      if (found.user.disabled) throw new AppError('USER_DISABLED', 'This account has been disabled.');
      if (found.user.role === 'guest') throw new AppError('FORBIDDEN', 'Guests cannot sign in.');
      if (needsRehash(found.passwordHash)) {
        // Stored before the scrypt cost was raised: the password is at hand now, so store it stronger.
        try {
          users.upgradePasswordHash(found.user.id, found.passwordHash, await hashPassword(req.body.password));
        } catch (error) {
          req.log.warn({ err: error, userId: found.user.id }, 'could not upgrade a password hash; it stays as it was');
        }
      }
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
