import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateUserBody, ErrorReply, IdParams, UpdateUserBody, User } from '@onair/shared';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../auth/passwords.js';
import { AppError } from '../errors.js';
import { requireUser } from '../plugins/auth.js';

/** Users: admins create hosts (or other admins) and disable them. */
export async function userRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { tokens, users } = app.services;
  const security = [{ bearer: [] }];

  app.get('/api/users', { schema: { tags: ['users'], security, response: { 200: Type.Array(User), 403: ErrorReply } } }, async (req) => {
    requireUser(req, tokens, users, ['admin']);
    return users.list();
  });

  app.post(
    '/api/users',
    { schema: { tags: ['users'], security, body: CreateUserBody, response: { 201: User, 400: ErrorReply, 403: ErrorReply, 409: ErrorReply } } },
    async (req, reply) => {
      requireUser(req, tokens, users, ['admin']);
      const created = users.create({ email: req.body.email, name: req.body.name.trim(), role: req.body.role, passwordHash: await hashPassword(req.body.password) });
      return reply.status(201).send(created);
    },
  );

  app.patch(
    '/api/users/:id',
    { schema: { tags: ['users'], security, params: IdParams, body: UpdateUserBody, response: { 200: User, 403: ErrorReply, 404: ErrorReply, 409: ErrorReply } } },
    async (req) => {
      const admin = requireUser(req, tokens, users, ['admin']);
      if (req.body.disabled && req.params.id === admin.id) throw new AppError('CANNOT_DISABLE_SELF', 'You cannot disable your own account.');
      return users.update(req.params.id, {
        ...(req.body.name !== undefined ? { name: req.body.name.trim() } : {}),
        ...(req.body.disabled !== undefined ? { disabled: req.body.disabled } : {}),
        ...(req.body.password !== undefined ? { passwordHash: await hashPassword(req.body.password) } : {}),
      });
    },
  );
}
