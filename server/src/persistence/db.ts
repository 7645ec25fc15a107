import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/** Schema migrations, applied in order once each; never edit one that has shipped. */
const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE COLLATE NOCASE,
     name TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('admin', 'host')),
     password_hash TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE rooms (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     owner_id TEXT NOT NULL REFERENCES users(id),
     created_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE TABLE destinations (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     platform TEXT NOT NULL,
     server_url TEXT NOT NULL,
     stream_key_enc TEXT NOT NULL,
     stream_key_last4 TEXT NOT NULL,
     created_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE TABLE broadcasts (
     id TEXT PRIMARY KEY,
     room_id TEXT NOT NULL,
     webinar_id TEXT,
     trigger TEXT NOT NULL,
     started_at TEXT NOT NULL,
     stopped_at TEXT,
     state TEXT NOT NULL,
     recording_file TEXT,
     destinations_json TEXT NOT NULL DEFAULT '[]'
   );`,
  `CREATE TABLE webinars (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     starts_at TEXT NOT NULL,
     ends_at TEXT NOT NULL,
     time_zone TEXT NOT NULL,
     host_ids_json TEXT NOT NULL,
     destination_ids_json TEXT NOT NULL,
     layout TEXT NOT NULL,
     resolution TEXT NOT NULL,
     overlay_title TEXT NOT NULL DEFAULT '',
     auto_start INTEGER NOT NULL,
     auto_stop INTEGER NOT NULL,
     record INTEGER NOT NULL,
     room_id TEXT NOT NULL REFERENCES rooms(id),
     status TEXT NOT NULL,
     warnings_json TEXT NOT NULL DEFAULT '[]',
     created_by TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX webinars_status ON webinars(status, starts_at);`,
  // Revocation: every session and room token carries the version it was signed at; bumping it
  // (disable, delete, password change) makes every earlier token invalid at once.
  `ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE users ADD COLUMN deleted_at TEXT;`,
  // Per destination: publish to an rtmps:// server whose certificate fails verification (off by default).
  `ALTER TABLE destinations ADD COLUMN allow_untrusted_certificate INTEGER NOT NULL DEFAULT 0;`,
  // Webhooks: endpoints (signing secret encrypted like stream keys) and their recent delivery attempts.
  // IF NOT EXISTS: the statement stays safe wherever it lands in this list.
  `CREATE TABLE IF NOT EXISTS webhooks (
     id TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     secret_enc TEXT NOT NULL,
     secret_last4 TEXT NOT NULL,
     enabled INTEGER NOT NULL DEFAULT 1,
     created_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE TABLE IF NOT EXISTS webhook_deliveries (
     id TEXT PRIMARY KEY,
     webhook_id TEXT NOT NULL,
     event_id TEXT NOT NULL,
     event_type TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     ok INTEGER NOT NULL,
     status_code INTEGER,
     error TEXT,
     latency_ms INTEGER,
     will_retry INTEGER NOT NULL DEFAULT 0,
     at TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id);`,
  // Recordings: the file a broadcast wrote (FLV), then its MP4 remux; deleted ones stay listed.
  `CREATE TABLE IF NOT EXISTS recordings (
     id TEXT PRIMARY KEY,
     broadcast_id TEXT NOT NULL,
     room_id TEXT NOT NULL,
     file TEXT NOT NULL,
     format TEXT NOT NULL CHECK (format IN ('flv', 'mp4')),
     state TEXT NOT NULL CHECK (state IN ('recording', 'processing', 'ready', 'failed', 'deleted')),
     bytes INTEGER NOT NULL DEFAULT 0,
     duration_seconds REAL,
     error TEXT,
     created_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE INDEX IF NOT EXISTS recordings_broadcast ON recordings(broadcast_id);`,
  // Backstage: per webinar, whether guests who join land backstage (default yes).
  `ALTER TABLE webinars ADD COLUMN guests_start_backstage INTEGER NOT NULL DEFAULT 1;`,
  // A room's logo (the PNG as uploaded, and its corner) outlives restarts and is what a webinar's
  // scheduled broadcast puts on air.
  `CREATE TABLE IF NOT EXISTS room_logos (
     room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
     png BLOB NOT NULL,
     corner TEXT NOT NULL CHECK (corner IN ('top-left', 'top-right', 'bottom-left', 'bottom-right')),
     updated_at TEXT NOT NULL
   );`,
  // Vertical program: which program a destination takes and a recording holds (16:9 until now).
  `ALTER TABLE destinations ADD COLUMN program TEXT NOT NULL DEFAULT 'landscape';
   ALTER TABLE recordings ADD COLUMN program TEXT NOT NULL DEFAULT 'landscape';`,
  // Event pages (HLS at /watch/<slug>), one per room (a webinar's is its room's): bumping
  // token_version revokes every signed link of a private page.
  `CREATE TABLE IF NOT EXISTS event_pages (
     room_id TEXT PRIMARY KEY,
     slug TEXT NOT NULL UNIQUE,
     enabled INTEGER NOT NULL DEFAULT 0,
     private INTEGER NOT NULL DEFAULT 0,
     token_version INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );`,
  // IP cameras a room pulls over RTSP: the URL without credentials; the credentials (JSON
  // {username, password}) encrypted like stream keys.
  `CREATE TABLE IF NOT EXISTS cameras (
     id TEXT PRIMARY KEY,
     room_id TEXT NOT NULL REFERENCES rooms(id),
     name TEXT NOT NULL,
     url TEXT NOT NULL,
     credentials_enc TEXT,
     transport TEXT NOT NULL CHECK (transport IN ('tcp', 'udp')),
     created_at TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS cameras_by_room ON cameras(room_id);`,
  // RTMP ingest sources: an encoder publishes into a room with the source's stream key (stored
  // encrypted; its SHA-256 finds the source at publish time without decrypting every key).
  `CREATE TABLE IF NOT EXISTS ingest_sources (
     id TEXT PRIMARY KEY,
     room_id TEXT NOT NULL,
     name TEXT NOT NULL,
     stream_key_enc TEXT NOT NULL,
     stream_key_hash TEXT NOT NULL UNIQUE,
     stream_key_last4 TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS ingest_sources_room ON ingest_sources(room_id);`,
  // A webinar may record its vertical program too (off until now).
  `ALTER TABLE webinars ADD COLUMN record_vertical INTEGER NOT NULL DEFAULT 0;`,
  // A webinar's vertical program's layout and size (a migration of its own: a database may already have the one above).
  `ALTER TABLE webinars ADD COLUMN vertical_layout TEXT NOT NULL DEFAULT 'auto';
   ALTER TABLE webinars ADD COLUMN vertical_resolution TEXT NOT NULL DEFAULT '720p';`,
];

export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]!);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, new Date().toISOString());
    })();
  }
}

export function newId(prefix = ''): string {
  return prefix + crypto.randomUUID().replace(/-/g, '').slice(0, 20);
}
