import { AppError } from '../errors.js';
import { newId, type Db } from './db.js';

export interface RoomRecord {
  id: string;
  name: string;
  ownerId: string;
  createdAt: string;
}

interface RoomRow {
  id: string;
  name: string;
  owner_id: string;
  created_at: string;
}

const toRecord = (r: RoomRow): RoomRecord => ({ id: r.id, name: r.name, ownerId: r.owner_id, createdAt: r.created_at });

export class RoomsRepo {
  constructor(private readonly db: Db) {}

  create(name: string, ownerId: string): RoomRecord {
    const id = newId('r');
    this.db.prepare('INSERT INTO rooms (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)').run(id, name, ownerId, new Date().toISOString());
    return this.get(id);
  }

  find(id: string): RoomRecord | null {
    const r = this.db.prepare('SELECT * FROM rooms WHERE id = ? AND deleted_at IS NULL').get(id) as RoomRow | undefined;
    return r ? toRecord(r) : null;
  }

  get(id: string): RoomRecord {
    const r = this.find(id);
    if (!r) throw new AppError('ROOM_NOT_FOUND', "This meeting doesn't exist or has ended.");
    return r;
  }

  /** Rooms of one owner, or all rooms when ownerId is null (admins). */
  list(ownerId: string | null): RoomRecord[] {
    const rows = (
      ownerId === null
        ? this.db.prepare('SELECT * FROM rooms WHERE deleted_at IS NULL ORDER BY created_at DESC').all()
        : this.db.prepare('SELECT * FROM rooms WHERE owner_id = ? AND deleted_at IS NULL ORDER BY created_at DESC').all(ownerId)
    ) as RoomRow[];
    return rows.map(toRecord);
  }

  delete(id: string): void {
    this.db.prepare('UPDATE rooms SET deleted_at = ? WHERE id = ?').run(new Date().toISOString(), id);
    // The row stays (history points at it); what the room kept for its broadcasts goes.
    this.db.prepare('DELETE FROM room_logos WHERE room_id = ?').run(id);
  }
}
