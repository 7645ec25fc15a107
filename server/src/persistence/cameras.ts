import type { CameraTransport } from '@onair/shared';
import type { Keys } from './keys.js';
import { AppError } from '../errors.js';
import { registerSecret } from '../logger.js';
import { newId, type Db } from './db.js';

/** A camera's user name and password (stored encrypted, never in a URL or a process argument). */
export interface CameraCredentials {
  username: string;
  password: string;
}

interface CameraRow {
  id: string;
  room_id: string;
  name: string;
  url: string;
  credentials_enc: string | null;
  transport: CameraTransport;
  created_at: string;
}

/** A stored camera, credentials left sealed. */
export interface CameraRecord {
  id: string;
  roomId: string;
  name: string;
  /** Without credentials. */
  url: string;
  hasCredentials: boolean;
  transport: CameraTransport;
  createdAt: string;
}

export interface CameraFields {
  name: string;
  url: string;
  /** null: none. */
  credentials: CameraCredentials | null;
  transport: CameraTransport;
}

const toRecord = (r: CameraRow): CameraRecord => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  url: r.url,
  hasCredentials: r.credentials_enc !== null,
  transport: r.transport,
  createdAt: r.created_at,
});

/** The secrets of a set of credentials, as the log redactor should know them (raw and %-encoded). */
function registerCredentials(credentials: CameraCredentials | null): void {
  if (!credentials || credentials.password === '') return;
  registerSecret(credentials.password);
  registerSecret(encodeURIComponent(credentials.password));
}

/** IP cameras per room. Credentials are stored encrypted (like stream keys); only credentials() decrypts. */
export class CamerasRepo {
  constructor(
    private readonly db: Db,
    private readonly keys: Keys,
  ) {}

  create(roomId: string, input: CameraFields): CameraRecord {
    const id = newId('cam');
    registerCredentials(input.credentials);
    this.db
      .prepare('INSERT INTO cameras (id, room_id, name, url, credentials_enc, transport, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, roomId, input.name, input.url, this.seal(input.credentials), input.transport, new Date().toISOString());
    return this.get(roomId, id);
  }

  private row(roomId: string, id: string): CameraRow {
    const r = this.db.prepare('SELECT * FROM cameras WHERE id = ? AND room_id = ?').get(id, roomId) as CameraRow | undefined;
    if (!r) throw new AppError('CAMERA_NOT_FOUND', `This room has no camera with id ${id}.`);
    return r;
  }

  get(roomId: string, id: string): CameraRecord {
    return toRecord(this.row(roomId, id));
  }

  listByRoom(roomId: string): CameraRecord[] {
    return (this.db.prepare('SELECT * FROM cameras WHERE room_id = ? ORDER BY created_at, id').all(roomId) as CameraRow[]).map(toRecord);
  }

  /** The camera's user name and password, decrypted (for the process that pulls it), or null. */
  credentials(roomId: string, id: string): CameraCredentials | null {
    const r = this.row(roomId, id);
    if (r.credentials_enc === null) return null;
    let credentials: CameraCredentials;
    try {
      credentials = JSON.parse(this.keys.decrypt(r.credentials_enc)) as CameraCredentials;
    } catch {
      throw new AppError(
        'CAMERA_CREDENTIALS_UNREADABLE',
        `The user name and password of camera "${r.name}" cannot be read: the server's secret (DATA_DIR/secret.key or ONAIR_SECRET) is not the one they were saved with. Enter them again in the dashboard.`,
      );
    }
    registerCredentials(credentials);
    return credentials;
  }

  /** `credentials: undefined` keeps the stored ones. */
  update(roomId: string, id: string, patch: Partial<Omit<CameraFields, 'credentials'>> & { credentials?: CameraCredentials | null }): CameraRecord {
    const current = this.row(roomId, id);
    if (patch.credentials !== undefined) registerCredentials(patch.credentials);
    this.db
      .prepare('UPDATE cameras SET name = ?, url = ?, credentials_enc = ?, transport = ? WHERE id = ?')
      .run(
        patch.name ?? current.name,
        patch.url ?? current.url,
        patch.credentials !== undefined ? this.seal(patch.credentials) : current.credentials_enc,
        patch.transport ?? current.transport,
        id,
      );
    return this.get(roomId, id);
  }

  delete(roomId: string, id: string): void {
    this.row(roomId, id);
    this.db.prepare('DELETE FROM cameras WHERE id = ?').run(id);
  }

  /** Registers every stored password with the log redactor (at boot); returns the names of cameras whose credentials cannot be read. */
  registerAllSecrets(): string[] {
    const unreadable: string[] = [];
    for (const r of this.db.prepare('SELECT id, room_id, name FROM cameras WHERE credentials_enc IS NOT NULL').all() as Array<{ id: string; room_id: string; name: string }>) {
      try {
        this.credentials(r.room_id, r.id);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        unreadable.push(r.name);
      }
    }
    return unreadable;
  }

  private seal(credentials: CameraCredentials | null): string | null {
    if (!credentials || (credentials.username === '' && credentials.password === '')) return null;
    return this.keys.encrypt(JSON.stringify({ username: credentials.username, password: credentials.password }));
  }
}
