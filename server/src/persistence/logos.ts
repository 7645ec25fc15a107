import type { LogoCorner } from '@onair/shared';
import type { Db } from './db.js';

export interface RoomLogo {
  png: Buffer;
  corner: LogoCorner;
  updatedAt: string;
}

interface LogoRow {
  png: Buffer;
  corner: LogoCorner;
  updated_at: string;
}

/** Each room's logo: the PNG as uploaded (checked before it gets here) and the corner it sits in. */
export class LogosRepo {
  constructor(private readonly db: Db) {}

  find(roomId: string): RoomLogo | null {
    const r = this.db.prepare('SELECT png, corner, updated_at FROM room_logos WHERE room_id = ?').get(roomId) as LogoRow | undefined;
    return r ? { png: r.png, corner: r.corner, updatedAt: r.updated_at } : null;
  }

  /** Stores the room's logo; the corner stays what it was unless one is given (top right at first). */
  put(roomId: string, png: Buffer, corner?: LogoCorner): RoomLogo {
    this.db
      .prepare(
        `INSERT INTO room_logos (room_id, png, corner, updated_at) VALUES (@roomId, @png, @corner, @now)
         ON CONFLICT (room_id) DO UPDATE SET png = excluded.png, corner = COALESCE(@newCorner, corner), updated_at = excluded.updated_at`,
      )
      .run({ roomId, png, corner: corner ?? 'top-right', newCorner: corner ?? null, now: new Date().toISOString() });
    return this.find(roomId)!;
  }

  /** Moves the room's logo to another corner; false when the room has no logo. */
  setCorner(roomId: string, corner: LogoCorner): boolean {
    return this.db.prepare('UPDATE room_logos SET corner = ?, updated_at = ? WHERE room_id = ?').run(corner, new Date().toISOString(), roomId).changes > 0;
  }

  delete(roomId: string): void {
    this.db.prepare('DELETE FROM room_logos WHERE room_id = ?').run(roomId);
  }
}
