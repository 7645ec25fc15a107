import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateUserBody, ErrorReply, IdParams, UpdateUserBody, User } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../auth/passwords.js';
import { AppError } from '../errors.js';
import { signedIn } from '../plugins/auth.js';

/**
 * Users: admins create hosts (or other admins), disable and delete them. Disabling, deleting or
 * setting a new password revokes the account's tokens and ends its open meeting sessions now.
 */
export async function userRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { users, registry } = app;
  const security = [{ bearer: [] }];
  const adminOnly = { auth: { roles: ['admin'] } } as const;

  app.get('/api/users', { config: adminOnly, schema: { tags: ['users'], security, response: { 200: Type.Array(User), 403: ErrorReply } } }, async () =>
    users.list(),
  );

  app.post(
    '/api/users',
    { config: adminOnly, schema: { tags: ['users'], security, body: CreateUserBody, response: { 201: User, 400: ErrorReply, 403: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      const created = users.create({ email: req.body.email, name: req.body.name, role: req.body.role, passwordHash: await hashPassword(req.body.password) });
      return reply.status(201).send(created);
    },
  );

  app.patch(
    '/api/users/:id',
    { config: adminOnly, schema: { tags: ['users'], security, params: IdParams, body: UpdateUserBody, response: { 200: User, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } } },
    async (req) => {
      if (req.body.disabled && req.params.id === signedIn(req).id) throw new AppError('CANNOT_DISABLE_SELF', 'You cannot disable your own account.');
      const { user, revoked } = users.update(req.params.id, {
        ...(req.body.name !== undefined ? { name: req.body.name } : {}),
        ...(req.body.disabled !== undefined ? { disabled: req.body.disabled } : {}),
        ...(req.body.password !== undefined ? { passwordHash: await hashPassword(req.body.password) } : {}),
      });
      if (revoked) {
        registry.disconnectUser(user.id, {
          code: 'SESSION_REVOKED',
          message: user.disabled ? 'An admin disabled your account.' : 'Your password was changed. Sign in again.',
        });
      }
      return user;
    },
  );

  app.delete(
    '/api/users/:id',
    { config: adminOnly, schema: { tags: ['users'], security, params: IdParams, response: { 204: Type.Null(), 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      if (req.params.id === signedIn(req).id) throw new AppError('CANNOT_DISABLE_SELF', 'You cannot delete your own account.');
      users.delete(req.params.id);
      registry.disconnectUser(req.params.id, { code: 'SESSION_REVOKED', message: 'An admin deleted your account.' });
      return reply.status(204).send(null);
    },
  );
}
