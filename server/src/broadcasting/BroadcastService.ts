import type { BroadcastRecord, BroadcastStatus, DestinationOutcome, DestinationStatus, RequestData, ResponseData, User } from '@onair/shared';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Broadcast } from '../composer/Broadcast.js';
import type { Config } from '../config.js';
import { testPush } from '../destinations/testPush.js';
import { buildPublishUrl } from '../destinations/url.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { redact } from '../logger.js';
import { resolveFfmpegPath } from '../media/ffmpegPath.js';
import { newId, type Db } from '../persistence/db.js';
import type { DestinationsRepo, DestinationWithKey } from '../persistence/destinations.js';
import type { RoomsRepo } from '../persistence/rooms.js';
import type { Peer } from '../sfu/Peer.js';
import type { Room } from '../sfu/Room.js';
import type { BroadcastControl } from '../signalling/Session.js';

export interface BroadcastServiceOptions {
  config: Config;
  db: Db;
  destinations: DestinationsRepo;
  rooms: RoomsRepo;
  logger: Logger;
}

export interface StartOptions extends RequestData<'startBroadcast'> {
  trigger?: 'manual' | 'scheduled';
  webinarId?: string | null;
  slateText?: string;
}

interface LiveBroadcast {
  room: Room;
  broadcast: Broadcast;
  recordId: string;
  outcomes: Map<string, Outcome>;
  /** Destinations published to with TLS certificate verification off (their switch was on). */
  untrusted: Set<string>;
  lastPersist: number;
  /** Why it stopped, when it was not stopped by a host or the schedule (e.g. the server shut down). */
  stopReason: string | null;
}

interface Outcome {
  destinationId: string;
  name: string;
  maskedUrl: string;
  outcome: string;
  liveSeconds: number;
  retries: number;
  errors: string[];
  liveSinceMs: number | null;
  untrustedCertificate?: true;
  stopReason?: string;
}

/** An rtmps:// destination whose certificate is not verified, recorded as such in the history. */
function unverifiedTls(d: DestinationWithKey): boolean {
  return d.allowUntrustedCertificate && /^rtmps:/i.test(d.serverUrl.trim());
}

/** How often a live broadcast's per-destination outcome is written to history. */
const PERSIST_INTERVAL_MS = 5_000;

/**
 * Go live for rooms: starts, updates and stops each room's Broadcast, tells the room's peers about
 * it, and keeps the broadcast history (start/stop, each destination's outcome and errors).
 */
export class BroadcastService implements BroadcastControl {
  private readonly live = new Map<string, LiveBroadcast>();
  /** Rooms whose broadcast is being created (a double click must not start two). */
  private readonly starting = new Set<string>();
  private ffmpegPath: string | null = null;

  constructor(private readonly options: BroadcastServiceOptions) {}

  isLive(roomId: string): boolean {
    return this.live.has(roomId) || this.starting.has(roomId);
  }

  private ffmpeg(): string {
    this.ffmpegPath ??= resolveFfmpegPath(this.options.config.ffmpegPath);
    return this.ffmpegPath;
  }

  private resolveDestinations(ids: string[]): DestinationWithKey[] {
    return ids.map((id) => this.options.destinations.withKey(id));
  }

  async start(room: Room, _peer: Peer | null, data: StartOptions): Promise<ResponseData['startBroadcast']> {
    if (room.broadcast || this.isLive(room.id)) throw new AppError('ALREADY_LIVE', 'This meeting is already live.');
    this.starting.add(room.id);
    try {
      return await this.create(room, data);
    } finally {
      this.starting.delete(room.id);
    }
  }

  private async create(room: Room, data: StartOptions): Promise<ResponseData['startBroadcast']> {
    const destinations = this.resolveDestinations(data.destinationIds);
    const id = newId('b');
    let recordPath: string | null = null;
    if (data.record) {
      mkdirSync(this.options.config.recordingsDir, { recursive: true });
      recordPath = join(this.options.config.recordingsDir, `${room.id}-${new Date().toISOString().replace(/[:.]/g, '-')}.flv`);
    }
    const broadcast = await Broadcast.create({
      id,
      roomId: room.id,
      router: room.router,
      getParticipants: () =>
        room.joinedPeers.map((p) => ({ peerId: p.id, displayName: p.displayName, producers: [...p.producers.values()] })),
      getActiveSpeakerId: () => room.activeSpeakerId,
      destinations,
      layout: data.layout ?? 'auto',
      resolution: data.resolution ?? '720p',
      title: data.title ?? null,
      lowerThird: data.lowerThird ?? null,
      ...(data.slateText ? { slateText: data.slateText } : {}),
      recordPath,
      ffmpegPath: this.ffmpeg(),
      logger: this.options.logger.child({ broadcast: id, room: room.id }),
    }).catch((error: unknown) => {
      if (error instanceof AppError) throw error;
      this.options.logger.error({ err: error, room: room.id }, 'the broadcast could not start');
      throw new AppError('MEDIA_UNAVAILABLE', 'The broadcast could not start because the video mixer did not start. Try again; if it keeps failing, the server log says why.');
    });
    if (room.closed) {
      await broadcast.close();
      throw new AppError('ROOM_CLOSED', 'This meeting has ended.');
    }
    const untrusted = new Set(destinations.filter(unverifiedTls).map((d) => d.id));
    const entry: LiveBroadcast = { room, broadcast, recordId: id, outcomes: new Map(), untrusted, lastPersist: 0, stopReason: null };
    this.live.set(room.id, entry);
    room.broadcast = broadcast;
    this.options.db
      .prepare('INSERT INTO broadcasts (id, room_id, webinar_id, trigger, started_at, state, recording_file) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, room.id, data.webinarId ?? null, data.trigger ?? 'manual', new Date().toISOString(), 'live', recordPath);
    broadcast.on('status', (status) => this.onStatus(entry, status));
    broadcast.on('closed', () => this.onClosed(entry));
    const status = broadcast.status();
    this.onStatus(entry, status);
    return { broadcast: status };
  }

  async update(room: Room, _peer: Peer | null, data: RequestData<'updateBroadcast'>): Promise<ResponseData['updateBroadcast']> {
    const entry = this.live.get(room.id);
    if (!entry) throw new AppError('NOT_LIVE', 'This meeting is not live.');
    const { addDestinationIds = [], removeDestinationIds = [], ...rest } = data;
    const added = this.resolveDestinations(addDestinationIds);
    entry.broadcast.update(rest);
    for (const d of added) {
      if (unverifiedTls(d)) entry.untrusted.add(d.id);
      entry.broadcast.addDestination(d);
    }
    for (const id of removeDestinationIds) entry.broadcast.removeDestination(id);
    const status = entry.broadcast.status();
    this.onStatus(entry, status);
    return { broadcast: status };
  }

  async stop(room: Room, _peer: Peer | null): Promise<void> {
    const entry = this.live.get(room.id);
    if (!entry) throw new AppError('NOT_LIVE', 'This meeting is not live.');
    await entry.broadcast.close();
  }

  /** The broadcasts running now (for metrics). */
  running(): Broadcast[] {
    return [...this.live.values()].map((e) => e.broadcast);
  }

  /** A deleted destination leaves every live broadcast that was pushing to it. */
  onDestinationDeleted(destinationId: string): void {
    for (const entry of this.live.values()) entry.broadcast.removeDestination(destinationId);
  }

  private onStatus(entry: LiveBroadcast, status: BroadcastStatus): void {
    for (const d of status.destinations) this.track(entry, d);
    for (const peer of entry.room.joinedPeers) peer.notify('broadcast', { broadcast: status });
    const now = Date.now();
    if (now - entry.lastPersist >= PERSIST_INTERVAL_MS) {
      entry.lastPersist = now;
      this.persist(entry, 'live', null);
    }
  }

  private track(entry: LiveBroadcast, d: DestinationStatus): void {
    let o = entry.outcomes.get(d.destinationId);
    if (!o) {
      o = { destinationId: d.destinationId, name: d.name, maskedUrl: d.maskedUrl, outcome: d.state, liveSeconds: 0, retries: 0, errors: [], liveSinceMs: null };
      if (entry.untrusted.has(d.destinationId)) o.untrustedCertificate = true;
      entry.outcomes.set(d.destinationId, o);
    }
    const now = Date.now();
    if (d.state === 'live' && o.liveSinceMs === null) o.liveSinceMs = now;
    if (d.state !== 'live' && o.liveSinceMs !== null) {
      o.liveSeconds += (now - o.liveSinceMs) / 1000;
      o.liveSinceMs = null;
    }
    o.outcome = d.state;
    o.retries = d.retries;
    if (d.lastError && o.errors[o.errors.length - 1] !== d.lastError && o.errors.length < 20) o.errors.push(redact(d.lastError));
  }

  private persist(entry: LiveBroadcast, state: string, stoppedAt: string | null): void {
    const now = Date.now();
    const destinations = [...entry.outcomes.values()].map(({ liveSinceMs, ...o }) => ({
      ...o,
      liveSeconds: Math.round((o.liveSeconds + (liveSinceMs === null ? 0 : (now - liveSinceMs) / 1000)) * 10) / 10,
    }));
    this.options.db
      .prepare('UPDATE broadcasts SET state = ?, stopped_at = COALESCE(?, stopped_at), destinations_json = ? WHERE id = ?')
      .run(state, stoppedAt, JSON.stringify(destinations), entry.recordId);
  }

  private onClosed(entry: LiveBroadcast): void {
    if (this.live.get(entry.room.id) !== entry) return;
    this.live.delete(entry.room.id);
    if (entry.room.broadcast === entry.broadcast) entry.room.broadcast = null;
    const final = entry.broadcast.status();
    for (const d of final.destinations) this.track(entry, d);
    if (entry.stopReason !== null) for (const o of entry.outcomes.values()) if (o.outcome === 'stopped') o.stopReason = entry.stopReason;
    this.persist(entry, final.state === 'failed' ? 'failed' : 'stopped', new Date().toISOString());
    for (const peer of entry.room.joinedPeers) peer.notify('broadcast', { broadcast: null });
  }

  /** Pushes ~4 s of test pattern to the destination and reports the outcome in plain words. */
  async testDestination(d: DestinationWithKey): Promise<{ ok: boolean; message: string; durationMs: number }> {
    const started = Date.now();
    const failure = await testPush({
      ffmpegPath: this.ffmpeg(),
      publishUrl: buildPublishUrl(d.serverUrl, d.streamKey),
      allowUntrustedCertificate: d.allowUntrustedCertificate,
      logger: this.options.logger.child({ destination: d.id }),
    });
    const durationMs = Date.now() - started;
    if (!failure) return { ok: true, message: `Sent a 4-second test stream to ${d.name}.`, durationMs };
    this.options.logger.info({ destination: d.id, message: failure.message }, 'destination test failed');
    return { ok: false, message: redact(failure.message), durationMs };
  }

  /** Newest first. Admins see every broadcast; a host sees those of rooms they own or webinars they host. */
  history(user: User, limit: number): BroadcastRecord[] {
    const rows = this.options.db
      .prepare(
        `SELECT b.*, r.name AS room_name, r.owner_id, w.host_ids_json
           FROM broadcasts b
           LEFT JOIN rooms r ON r.id = b.room_id
           LEFT JOIN webinars w ON w.id = b.webinar_id
          ORDER BY b.started_at DESC`,
      )
      .all() as HistoryRow[];
    return rows
      .filter((r) => user.role === 'admin' || r.owner_id === user.id || (r.host_ids_json ?? '').includes(`"${user.id}"`))
      .slice(0, limit)
      .map((r) => ({
        id: r.id,
        roomId: r.room_id,
        roomName: r.room_name ?? '(deleted room)',
        webinarId: r.webinar_id,
        trigger: r.trigger === 'scheduled' ? 'scheduled' : 'manual',
        startedAt: r.started_at,
        stoppedAt: r.stopped_at,
        state: r.state,
        recordingFile: r.recording_file,
        destinations: parseOutcomes(r.destinations_json),
      }));
  }

  /**
   * Stops every live broadcast the way a host's Stop does (each destination gets a clean end of
   * stream), and the history gives `reason` as each stopped destination's stopReason.
   */
  async close(reason = 'The server shut down.'): Promise<void> {
    await Promise.all(
      [...this.live.values()].map((e) => {
        e.stopReason ??= reason;
        return e.broadcast.close();
      }),
    );
  }
}

interface HistoryRow {
  id: string;
  room_id: string;
  webinar_id: string | null;
  trigger: string;
  started_at: string;
  stopped_at: string | null;
  state: string;
  recording_file: string | null;
  destinations_json: string;
  room_name: string | null;
  owner_id: string | null;
  host_ids_json: string | null;
}

function parseOutcomes(json: string): DestinationOutcome[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? (value as DestinationOutcome[]) : [];
}
