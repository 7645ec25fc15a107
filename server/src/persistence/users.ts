import type { User } from '@onair/shared';
import { AppError } from '../errors.js';
import { newId, type Db } from './db.js';

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'host';
  password_hash: string;
  disabled: number;
  created_at: string;
  token_version: number;
  deleted_at: string | null;
}

function toUser(r: UserRow): User {
  return { id: r.id, email: r.email, name: r.name, role: r.role, disabled: r.disabled === 1, createdAt: r.created_at };
}

export class UsersRepo {
  constructor(private readonly db: Db) {}

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  create(input: { email: string; name: string; role: 'admin' | 'host'; passwordHash: string }): User {
    const id = newId('u_');
    try {
      this.db
        .prepare('INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, input.email.trim(), input.name, input.role, input.passwordHash, new Date().toISOString());
    } catch (error) {
      if (error instanceof Error && error.message.includes('UNIQUE')) {
        throw new AppError('EMAIL_TAKEN', `A user with the email ${input.email} already exists.`);
      }
      throw error;
    }
    return this.get(id);
  }

  find(id: string): User | null {
    return this.identity(id)?.user ?? null;
  }

  /** The user and the token version their tokens must carry; null when unknown or deleted. */
  identity(id: string): { user: User; tokenVersion: number } | null {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ? AND deleted_at IS NULL').get(id) as UserRow | undefined;
    return r ? { user: toUser(r), tokenVersion: r.token_version } : null;
  }

  get(id: string): User {
    const u = this.find(id);
    if (!u) throw new AppError('USER_NOT_FOUND', 'No such user.');
    return u;
  }

  findWithHashByEmail(email: string): { user: User; passwordHash: string; tokenVersion: number } | null {
    const r = this.db.prepare('SELECT * FROM users WHERE email = ? AND deleted_at IS NULL').get(email.trim()) as UserRow | undefined;
    return r ? { user: toUser(r), passwordHash: r.password_hash, tokenVersion: r.token_version } : null;
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users WHERE deleted_at IS NULL ORDER BY created_at').all() as UserRow[]).map(toUser);
  }

  /**
   * Disabling the user or setting a new password also bumps their token version, which revokes
   * every session and room token they hold (the caller closes their open sockets).
   */
  update(id: string, patch: { name?: string; disabled?: boolean; passwordHash?: string }): { user: User; revoked: boolean } {
    const current = this.db.prepare('SELECT * FROM users WHERE id = ? AND deleted_at IS NULL').get(id) as UserRow | undefined;
    if (!current) throw new AppError('USER_NOT_FOUND', 'No such user.');
    const revoked = patch.disabled === true || patch.passwordHash !== undefined;
    // One statement, so a failed update changes nothing.
    this.db
      .prepare('UPDATE users SET name = ?, disabled = ?, password_hash = ?, token_version = token_version + ? WHERE id = ?')
      .run(
        patch.name ?? current.name,
        patch.disabled === undefined ? current.disabled : patch.disabled ? 1 : 0,
        patch.passwordHash ?? current.password_hash,
        revoked ? 1 : 0,
        id,
      );
    return { user: this.get(id), revoked };
  }

  /**
   * Replaces a password hash with a stronger one of the same password (sessions stay valid), only
   * if it is still `previous`: a password changed meanwhile is not overwritten.
   */
  upgradePasswordHash(id: string, previous: string, next: string): void {
    this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?').run(next, id, previous);
  }

  /**
   * Deletes the account: it can no longer sign in, its tokens are revoked, and its email is free
   * for a new account. The row stays (rooms and webinars it created still name it).
   */
  delete(id: string): void {
    const result = this.db
      .prepare(
        `UPDATE users SET deleted_at = ?, disabled = 1, token_version = token_version + 1, email = 'deleted-' || id || '@deleted.invalid'
         WHERE id = ? AND deleted_at IS NULL`,
      )
      .run(new Date().toISOString(), id);
    if (result.changes === 0) throw new AppError('USER_NOT_FOUND', 'No such user.');
  }
}
