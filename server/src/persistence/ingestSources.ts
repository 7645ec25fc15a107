import { createHash, randomBytes } from 'node:crypto';
import type { Keys } from './keys.js';
import { AppError } from '../errors.js';
import { registerSecret } from '../logger.js';
import { newId, type Db } from './db.js';

/** An ingest source as stored (the key stays sealed; see IngestSourcesRepo.streamKey()). */
export interface IngestSourceRecord {
  id: string;
  roomId: string;
  name: string;
  streamKeyMasked: string;
  createdBy: string;
  createdAt: string;
}

interface IngestSourceRow {
  id: string;
  room_id: string;
  name: string;
  stream_key_enc: string;
  stream_key_hash: string;
  stream_key_last4: string;
  created_by: string;
  created_at: string;
}

const toRecord = (r: IngestSourceRow): IngestSourceRecord => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  streamKeyMasked: `••••${r.stream_key_last4}`,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** 24 characters of base64url (144 random bits): `[A-Za-z0-9_-]`, safe in an RTMP URL, never guessed. */
export function newStreamKey(): string {
  return randomBytes(18).toString('base64url');
}

/** What finds a source by its key: the key is long and random, so a plain SHA-256 is as good as a keyed one. */
function keyHash(streamKey: string): string {
  return createHash('sha256').update(streamKey, 'utf8').digest('hex');
}

/**
 * Ingest sources of rooms. Stream keys are made here (never chosen by a person), stored encrypted
 * with the destinations' key, found at publish time by their hash, and registered with the log
 * redactor; only streamKey() decrypts, for the reveal route.
 */
export class IngestSourcesRepo {
  constructor(
    private readonly db: Db,
    private readonly keys: Keys,
  ) {}

  create(input: { roomId: string; name: string; createdBy: string }): IngestSourceRecord {
    const id = newId('in');
    const key = newStreamKey();
    registerSecret(key);
    this.db
      .prepare('INSERT INTO ingest_sources (id, room_id, name, stream_key_enc, stream_key_hash, stream_key_last4, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, input.roomId, input.name, this.keys.encrypt(key), keyHash(key), key.slice(-4), input.createdBy, new Date().toISOString());
    return this.get(id);
  }

  private row(id: string): IngestSourceRow {
    const r = this.db.prepare('SELECT * FROM ingest_sources WHERE id = ?').get(id) as IngestSourceRow | undefined;
    if (!r) throw new AppError('INGEST_SOURCE_NOT_FOUND', 'No such ingest source in this room.');
    return r;
  }

  get(id: string): IngestSourceRecord {
    return toRecord(this.row(id));
  }

  /** The source `id` of room `roomId`; INGEST_SOURCE_NOT_FOUND when it belongs to another room. */
  inRoom(roomId: string, id: string): IngestSourceRecord {
    const source = this.get(id);
    if (source.roomId !== roomId) throw new AppError('INGEST_SOURCE_NOT_FOUND', 'No such ingest source in this room.');
    return source;
  }

  list(roomId: string): IngestSourceRecord[] {
    return (this.db.prepare('SELECT * FROM ingest_sources WHERE room_id = ? ORDER BY created_at, id').all(roomId) as IngestSourceRow[]).map(toRecord);
  }

  /** The source a publish with this stream key is for, or null (wrong key). */
  findByKey(streamKey: string): IngestSourceRecord | null {
    const r = this.db.prepare('SELECT * FROM ingest_sources WHERE stream_key_hash = ?').get(keyHash(streamKey)) as IngestSourceRow | undefined;
    return r ? toRecord(r) : null;
  }

  /** The stream key in full. Throws STREAM_KEY_UNREADABLE when it was sealed with another master secret. */
  streamKey(id: string): string {
    const r = this.row(id);
    let key: string;
    try {
      key = this.keys.decrypt(r.stream_key_enc);
    } catch {
      throw new AppError('STREAM_KEY_UNREADABLE', `The stream key of "${r.name}" cannot be read: the server's master secret changed. Rotate it to make a new one.`);
    }
    registerSecret(key);
    return key;
  }

  /** A new key replaces the old one, which stops working at once; returns the new key. */
  rotateKey(id: string): string {
    this.row(id);
    const key = newStreamKey();
    registerSecret(key);
    this.db
      .prepare('UPDATE ingest_sources SET stream_key_enc = ?, stream_key_hash = ?, stream_key_last4 = ? WHERE id = ?')
      .run(this.keys.encrypt(key), keyHash(key), key.slice(-4), id);
    return key;
  }

  delete(id: string): void {
    this.row(id);
    this.db.prepare('DELETE FROM ingest_sources WHERE id = ?').run(id);
  }

  /** Registers every stored key with the log redactor (at boot); returns the names of sources whose key cannot be read. */
  registerAllSecrets(): string[] {
    const unreadable: string[] = [];
    for (const r of this.db.prepare('SELECT id, name FROM ingest_sources').all() as Array<{ id: string; name: string }>) {
      try {
        this.streamKey(r.id);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        unreadable.push(r.name);
      }
    }
    return unreadable;
  }
}
