import type { Db } from './db.js';

export interface EventPageRecord {
  roomId: string;
  slug: string;
  /** The room's broadcasts also publish HLS to the page. */
  enabled: boolean;
  /** Only a signed link opens it. */
  private: boolean;
  /** Signed links carry it; bumping it revokes every earlier link. */
  tokenVersion: number;
}

interface EventPageRow {
  room_id: string;
  slug: string;
  enabled: number;
  private: number;
  token_version: number;
}

const toRecord = (r: EventPageRow): EventPageRecord => ({
  roomId: r.room_id,
  slug: r.slug,
  enabled: r.enabled === 1,
  private: r.private === 1,
  tokenVersion: r.token_version,
});

/** Event pages, one per room; the slug is unique. */
export class EventPagesRepo {
  constructor(private readonly db: Db) {}

  forRoom(roomId: string): EventPageRecord | null {
    const r = this.db.prepare('SELECT * FROM event_pages WHERE room_id = ?').get(roomId) as EventPageRow | undefined;
    return r ? toRecord(r) : null;
  }

  bySlug(slug: string): EventPageRecord | null {
    const r = this.db.prepare('SELECT * FROM event_pages WHERE slug = ?').get(slug) as EventPageRow | undefined;
    return r ? toRecord(r) : null;
  }

  slugTaken(slug: string, exceptRoomId: string): boolean {
    return this.db.prepare('SELECT 1 FROM event_pages WHERE slug = ? AND room_id != ?').get(slug, exceptRoomId) !== undefined;
  }

  /** Creates or replaces the room's page settings (the token version is kept). */
  save(page: Omit<EventPageRecord, 'tokenVersion'>): EventPageRecord {
    this.db
      .prepare(
        `INSERT INTO event_pages (room_id, slug, enabled, private, created_at) VALUES (@room_id, @slug, @enabled, @private, @created_at)
         ON CONFLICT(room_id) DO UPDATE SET slug = excluded.slug, enabled = excluded.enabled, private = excluded.private`,
      )
      .run({ room_id: page.roomId, slug: page.slug, enabled: page.enabled ? 1 : 0, private: page.private ? 1 : 0, created_at: new Date().toISOString() });
    return this.forRoom(page.roomId)!;
  }

  /** Revokes every signed link of the page; returns the new version. */
  bumpTokenVersion(roomId: string): number {
    this.db.prepare('UPDATE event_pages SET token_version = token_version + 1 WHERE room_id = ?').run(roomId);
    return this.forRoom(roomId)?.tokenVersion ?? 0;
  }
}
