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
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  get(id: string): User {
    const u = this.find(id);
    if (!u) throw new AppError('USER_NOT_FOUND', 'No such user.');
    return u;
  }

  findWithHashByEmail(email: string): { user: User; passwordHash: string } | null {
    const r = this.db.prepare('SELECT * FROM users WHERE email = ?').get(email.trim()) as UserRow | undefined;
    return r ? { user: toUser(r), passwordHash: r.password_hash } : null;
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY created_at').all() as UserRow[]).map(toUser);
  }

  update(id: string, patch: { name?: string; disabled?: boolean; passwordHash?: string }): User {
    const current = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    if (!current) throw new AppError('USER_NOT_FOUND', 'No such user.');
    // One statement, so a failed update changes nothing.
    this.db
      .prepare('UPDATE users SET name = ?, disabled = ?, password_hash = ? WHERE id = ?')
      .run(
        patch.name ?? current.name,
        patch.disabled === undefined ? current.disabled : patch.disabled ? 1 : 0,
        patch.passwordHash ?? current.password_hash,
        id,
      );
    return this.get(id);
  }
}
