import type { BroadcastLayout, Resolution, VerticalLayout, WebinarStatus } from '@onair/shared';
import { AppError } from '../errors.js';
import { newId, type Db } from './db.js';

export interface WebinarRecord {
  id: string;
  title: string;
  description: string;
  startsAt: string;
  endsAt: string;
  timeZone: string;
  hostIds: string[];
  destinationIds: string[];
  layout: BroadcastLayout;
  resolution: Resolution;
  /** The vertical program's layout and size (used when a destination takes it or it is recorded). */
  verticalLayout: VerticalLayout;
  verticalResolution: Resolution;
  overlayTitle: string;
  autoStart: boolean;
  autoStop: boolean;
  record: boolean;
  /** Also record the vertical (9:16) program. */
  recordVertical: boolean;
  /** Guests who join land backstage (not in the program) until a host puts them on air. */
  guestsStartBackstage: boolean;
  roomId: string;
  status: WebinarStatus;
  warnings: string[];
  createdBy: string;
  createdAt: string;
}

export type WebinarInput = Omit<WebinarRecord, 'id' | 'status' | 'warnings' | 'createdAt'>;

interface WebinarRow {
  id: string;
  title: string;
  description: string;
  starts_at: string;
  ends_at: string;
  time_zone: string;
  host_ids_json: string;
  destination_ids_json: string;
  layout: BroadcastLayout;
  resolution: Resolution;
  vertical_layout: VerticalLayout;
  vertical_resolution: Resolution;
  overlay_title: string;
  auto_start: number;
  auto_stop: number;
  record: number;
  record_vertical: number;
  guests_start_backstage: number;
  room_id: string;
  status: WebinarStatus;
  warnings_json: string;
  created_by: string;
  created_at: string;
}

function stringArray(json: string): string[] {
  const v: unknown = JSON.parse(json);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const toRecord = (r: WebinarRow): WebinarRecord => ({
  id: r.id,
  title: r.title,
  description: r.description,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  timeZone: r.time_zone,
  hostIds: stringArray(r.host_ids_json),
  destinationIds: stringArray(r.destination_ids_json),
  layout: r.layout,
  resolution: r.resolution,
  verticalLayout: r.vertical_layout,
  verticalResolution: r.vertical_resolution,
  overlayTitle: r.overlay_title,
  autoStart: r.auto_start === 1,
  autoStop: r.auto_stop === 1,
  record: r.record === 1,
  recordVertical: r.record_vertical === 1,
  guestsStartBackstage: r.guests_start_backstage === 1,
  roomId: r.room_id,
  status: r.status,
  warnings: stringArray(r.warnings_json),
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** The columns an admin edits, as stored (JSON arrays, 0/1 flags). */
function editableColumns(w: Omit<WebinarInput, 'roomId' | 'createdBy'>) {
  return {
    title: w.title,
    description: w.description,
    starts_at: w.startsAt,
    ends_at: w.endsAt,
    time_zone: w.timeZone,
    host_ids_json: JSON.stringify(w.hostIds),
    destination_ids_json: JSON.stringify(w.destinationIds),
    layout: w.layout,
    resolution: w.resolution,
    vertical_layout: w.verticalLayout,
    vertical_resolution: w.verticalResolution,
    overlay_title: w.overlayTitle,
    auto_start: w.autoStart ? 1 : 0,
    auto_stop: w.autoStop ? 1 : 0,
    record: w.record ? 1 : 0,
    record_vertical: w.recordVertical ? 1 : 0,
    guests_start_backstage: w.guestsStartBackstage ? 1 : 0,
  };
}

/** Webinars: the schedule the Scheduler reads on every tick (so it survives restarts). */
export class WebinarsRepo {
  constructor(private readonly db: Db) {}

  create(input: WebinarInput): WebinarRecord {
    const id = newId('w');
    const row = {
      ...editableColumns(input),
      id,
      room_id: input.roomId,
      status: 'scheduled',
      created_by: input.createdBy,
      created_at: new Date().toISOString(),
    };
    const names = Object.keys(row);
    this.db.prepare(`INSERT INTO webinars (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`).run(row);
    return this.get(id);
  }

  find(id: string): WebinarRecord | null {
    const r = this.db.prepare('SELECT * FROM webinars WHERE id = ?').get(id) as WebinarRow | undefined;
    return r ? toRecord(r) : null;
  }

  get(id: string): WebinarRecord {
    const w = this.find(id);
    if (!w) throw new AppError('WEBINAR_NOT_FOUND', `No webinar with id ${id}.`);
    return w;
  }

  list(): WebinarRecord[] {
    return (this.db.prepare('SELECT * FROM webinars ORDER BY starts_at').all() as WebinarRow[]).map(toRecord);
  }

  /** Webinars the scheduler still has work for. */
  active(): WebinarRecord[] {
    return (this.db.prepare("SELECT * FROM webinars WHERE status IN ('scheduled', 'live') ORDER BY starts_at").all() as WebinarRow[]).map(toRecord);
  }

  update(id: string, patch: Partial<WebinarInput>): WebinarRecord {
    const columns = editableColumns({ ...this.get(id), ...patch });
    const assignments = Object.keys(columns).map((n) => `${n} = @${n}`).join(', ');
    this.db.prepare(`UPDATE webinars SET ${assignments} WHERE id = @id`).run({ ...columns, id });
    return this.get(id);
  }

  /** The room's latest webinar (a webinar's room holds only it), null for a plain meeting. */
  forRoom(roomId: string): WebinarRecord | null {
    const r = this.db.prepare('SELECT * FROM webinars WHERE room_id = ? ORDER BY starts_at DESC LIMIT 1').get(roomId) as WebinarRow | undefined;
    return r ? toRecord(r) : null;
  }

  /** Whether the user hosts a (not cancelled) webinar held in this room. */
  isHostOfRoom(userId: string, roomId: string): boolean {
    const row = this.db
      .prepare(
        `SELECT 1 FROM webinars w, json_each(w.host_ids_json) h
          WHERE w.room_id = ? AND w.status != 'cancelled' AND h.value = ? LIMIT 1`,
      )
      .get(roomId, userId);
    return row !== undefined;
  }

  /** Whether guests joining this room land backstage: the setting of the room's (not cancelled) webinar; false for a plain meeting. */
  guestsStartBackstage(roomId: string): boolean {
    const row = this.db
      .prepare("SELECT guests_start_backstage AS b FROM webinars WHERE room_id = ? AND status != 'cancelled' ORDER BY starts_at DESC LIMIT 1")
      .get(roomId) as { b: number } | undefined;
    return row?.b === 1;
  }

  setStatus(id: string, status: WebinarStatus): void {
    this.db.prepare('UPDATE webinars SET status = ? WHERE id = ?').run(status, id);
  }

  setWarnings(id: string, warnings: string[]): void {
    this.db.prepare('UPDATE webinars SET warnings_json = ? WHERE id = ?').run(JSON.stringify(warnings), id);
  }
}
