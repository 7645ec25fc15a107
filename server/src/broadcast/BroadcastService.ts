import type { BroadcastRecord, BroadcastStatus, DestinationOutcome, DestinationStatus, RequestData, ResponseData, User } from '@onair/shared';
import type { DestinationState, DestinationTestReply, ProgramKind, Resolution } from '@onair/shared';
import { LOGO_MAX_BYTES, type LogoCorner } from '@onair/shared';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Broadcast, type BroadcastParticipant } from './Broadcast.js';
import type { Config } from '../config.js';
import { preflightRules } from '../destinations/preflight.js';
import { TEST_SECONDS, testPush } from '../destinations/testPush.js';
import { resolvePublishTarget, type PublishTarget } from '../destinations/PublishTarget.js';
import { decodeLogo, hasPngSignature, LogoDecodeError } from '../compositor/logo.js';
import { logoBox } from '../compositor/scene.js';
import { FRAME_SIZES } from '../compositor/layout.js';
import { AppError } from '../errors.js';
import type { ServerEvents } from '../events/ServerEvents.js';
import type { Logger } from '../logger.js';
import { redact } from '../logger.js';
import { resolveFfmpegPath } from '../media/ffmpegPath.js';
import { newId, type Db } from '../persistence/db.js';
import { LogosRepo } from '../persistence/logos.js';
import type { DestinationsRepo } from '../persistence/destinations.js';
import type { RoomsRepo } from '../persistence/rooms.js';
import type { Peer } from '../sfu/Peer.js';
import type { Room, RoomBroadcast } from '../sfu/Room.js';
import type { BroadcastControl } from '../signalling/Session.js';
import type { EventPages } from '../eventpage/EventPages.js';
import { HealthHistory } from './HealthHistory.js';
import { Recordings } from './Recordings.js';

export interface BroadcastServiceOptions {
  config: Config;
  db: Db;
  destinations: DestinationsRepo;
  rooms: RoomsRepo;
  /** Tests: the length of a minute for the idle timeout (ms). Default 60,000. */
  minuteMs?: number;
  /** Where broadcast, destination and recording facts are published (webhooks subscribe). Default none. */
  events?: ServerEvents;
  /** The rooms' event pages (HLS of the broadcast at /watch/<slug>). Default none. */
  eventPages?: EventPages;
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
  /** The last minutes of health, sent to hosts with every status. */
  health: HealthHistory;
  /** What the room holds as its broadcast: the Broadcast, with statuses that carry the health. */
  attached: RoomBroadcast;
  /** The recordings it writes (the 16:9 program's, the vertical program's), remuxed when it ends. */
  recordings: Array<{ id: string; path: string; program: ProgramKind }>;
  /** Why it stopped, when it was not stopped by a host or the schedule (e.g. the server shut down). */
  stopReason: string | null;
  /** The broadcast holds the room open while it is live (a schedule may hold it already). */
  holdsRoom: boolean;
  /** It publishes to the room's event page (whose address and privacy are read when a status goes out: an admin may change them while live). */
  eventPage: boolean;
  /** Composed for the hosts' preview only, not live yet: nothing goes to the history until Go live. */
  previewOnly: boolean;
}

interface Outcome {
  destinationId: string;
  name: string;
  maskedUrl: string;
  program: ProgramKind;
  outcome: string;
  liveSeconds: number;
  retries: number;
  errors: string[];
  liveSinceMs: number | null;
  untrustedCertificate?: true;
  stopReason?: string;
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
  /** Each room's logo (PNG bytes and corner), put on air in every broadcast of the room until removed. */
  readonly logos: LogosRepo;
  /** Recordings of broadcasts: listed in the history, remuxed to MP4 when a broadcast ends. */
  readonly recordings: Recordings;

  constructor(private readonly options: BroadcastServiceOptions) {
    this.logos = new LogosRepo(options.db);
    this.recordings = new Recordings({ db: options.db, ffmpegPath: () => this.ffmpeg(), logger: options.logger.child({ recordings: true }) });
  }

  isLive(roomId: string): boolean {
    return this.live.has(roomId) || this.starting.has(roomId);
  }

  private ffmpeg(): string {
    this.ffmpegPath ??= resolveFfmpegPath(this.options.config.ffmpegPath);
    return this.ffmpegPath;
  }

  /** Each destination resolved once (URL checked, key decrypted and registered for redaction). */
  private resolveDestinations(ids: string[]): PublishTarget[] {
    return ids.map((id) => resolvePublishTarget(this.options.destinations.withKey(id)));
  }

  async start(room: Room, _peer: Peer | null, data: StartOptions): Promise<ResponseData['startBroadcast']> {
    const previewing = this.live.get(room.id);
    if (previewing?.previewOnly && !data.preview && !this.starting.has(room.id)) return this.goLive(previewing, data);
    if (room.broadcast || this.isLive(room.id)) {
      throw new AppError('ALREADY_LIVE', previewing?.previewOnly ? 'The preview is already on.' : 'This meeting is already live.');
    }
    this.starting.add(room.id);
    try {
      return await this.create(room, data);
    } finally {
      this.starting.delete(room.id);
    }
  }

  private async create(room: Room, data: StartOptions): Promise<ResponseData['startBroadcast']> {
    const preview = data.preview === true;
    // A preview goes nowhere: its destinations, recording and event page come with Go live.
    const destinations = preview ? [] : this.resolveDestinations(data.destinationIds);
    const id = newId('b');
    const logo = this.logos.find(room.id);
    // A corner chosen at Go live is the room's corner from now on.
    if (logo && data.logoCorner) this.logos.setCorner(room.id, data.logoCorner);
    const logoCorner = data.logoCorner ?? logo?.corner;
    const { recordPath, verticalRecordPath, page, eventPage } = preview ? { recordPath: null, verticalRecordPath: null, page: null, eventPage: null } : this.sinksFor(room, id, data);
    const discardRecordings = (): void => {
      for (const path of [recordPath, verticalRecordPath]) if (path) this.recordings.discard(path);
    };
    const eventPages = this.options.eventPages;
    if (!preview) this.assertGoesSomewhere(destinations, data);
    const broadcast = await Broadcast.create({
      id,
      roomId: room.id,
      router: room.router,
      getParticipants: () => onAirParticipants(room),
      getActiveSpeakerId: () => room.stageSpeakerId,
      destinations,
      layout: data.layout ?? 'auto',
      resolution: data.resolution ?? '720p',
      ...(data.verticalLayout ? { verticalLayout: data.verticalLayout } : {}),
      ...(data.verticalResolution ? { verticalResolution: data.verticalResolution } : {}),
      title: data.title ?? null,
      lowerThird: data.lowerThird ?? null,
      ...(data.slateText ? { slateText: data.slateText } : {}),
      ...(logoCorner ? { logoCorner } : {}),
      ...(data.idleTimeoutMinutes ? { idleTimeoutMinutes: data.idleTimeoutMinutes } : {}),
      ...(this.options.minuteMs ? { minuteMs: this.options.minuteMs } : {}),
      recordPath,
      verticalRecordPath,
      eventPage,
      preview,
      ffmpegPath: this.ffmpeg(),
      logger: this.options.logger.child({ broadcast: id, room: room.id }),
    }).catch((error: unknown) => {
      discardRecordings();
      if (error instanceof AppError) throw error;
      this.options.logger.error({ err: error, room: room.id }, 'the broadcast could not start');
      throw new AppError('MEDIA_UNAVAILABLE', 'The broadcast could not start because the video mixer did not start. Try again; if it keeps failing, the server log says why.');
    });
    if (room.closed) {
      await broadcast.close();
      discardRecordings();
      throw new AppError('ROOM_CLOSED', 'This meeting has ended.');
    }
    const untrusted = new Set(destinations.filter((d) => d.unverifiedTls).map((d) => d.id));
    const health = new HealthHistory({ startedAtMs: Date.parse(broadcast.status().startedAt) });
    const attached: RoomBroadcast = {
      status: () => this.withHealth(entry, broadcast.status()),
      close: () => broadcast.close(),
      watchPreview: () => broadcast.watchPreview(),
      unwatchPreview: () => broadcast.unwatchPreview(),
    };
    followStage(room, broadcast);
    const entry: LiveBroadcast = { room, broadcast, recordId: id, outcomes: new Map(), untrusted, lastPersist: 0, stopReason: null, health, attached, recordings: [], holdsRoom: false,
      eventPage: broadcast.hlsDir !== null, previewOnly: preview };
    if (broadcast.hlsDir) eventPages?.attach(room.id, broadcast.hlsDir);
    // Everyone leaving (the host's browser closed) puts the slate on air; the room stays open until
    // Stop, the webinar's end or the idle timeout, so the show can go on when someone is back.
    if (!room.isHeld) {
      room.hold();
      entry.holdsRoom = true;
    }
    this.live.set(room.id, entry);
    room.broadcast = attached;
    if (!preview) this.recordStart(entry, data, { landscape: recordPath, vertical: verticalRecordPath });
    broadcast.on('status', (status) => this.onStatus(entry, status));
    broadcast.on('closed', () => this.onClosed(entry));
    broadcast.on('idle', () => {
      const minutes = broadcast.status().idleTimeoutMinutes;
      this.options.logger.info({ room: room.id, broadcast: id, minutes }, 'nobody on stage for the idle timeout; stopping the broadcast');
      entry.stopReason ??= `Nobody was on stage for ${minutes} minute${minutes === 1 ? '' : 's'} (the idle timeout).`;
      void broadcast.close();
    });
    if (logo) {
      await broadcast.setLogo(logo.png).catch((error: unknown) => this.options.logger.warn({ err: error, room: room.id }, 'the logo could not be put on air'));
    }
    const status = broadcast.status();
    this.onStatus(entry, status);
    return { broadcast: this.withHealth(entry, status) };
  }

  private assertGoesSomewhere(destinations: PublishTarget[], data: StartOptions): void {
    if (destinations.length === 0 && !data.eventPage && !data.record && !data.recordVertical && data.trigger !== 'scheduled') {
      throw new AppError('VALIDATION_FAILED', 'Choose at least one destination, the event page or the recording: the broadcast would go nowhere.');
    }
  }

  /** Where a broadcast going live records to and which event page it feeds (from the Go live request). */
  private sinksFor(room: Room, id: string, data: StartOptions) {
    const recorded = data.record === true || data.recordVertical === true;
    if (recorded) mkdirSync(this.options.config.recordingsDir, { recursive: true });
    const base = join(this.options.config.recordingsDir, `${room.id}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const recordPath = data.record ? `${base}.flv` : null;
    const verticalRecordPath = data.recordVertical ? `${base}-vertical.flv` : null;
    const page = this.options.eventPages?.wanted(room.id, room.name, data.eventPage) ?? null;
    // The segments are kept after the broadcast only when it is recorded.
    const eventPage = page ? { dir: join(this.options.config.dataDir, 'hls', id), keep: recorded } : null;
    return { recordPath, verticalRecordPath, page, eventPage };
  }

  /** The broadcast went live: its history row, its recording's row and broadcast.started. */
  private recordStart(entry: LiveBroadcast, data: StartOptions, paths: Record<ProgramKind, string | null>): void {
    // Started when Go live was pressed (as the status says), so the history's length is the recording's.
    this.options.db
      .prepare('INSERT INTO broadcasts (id, room_id, webinar_id, trigger, started_at, state, recording_file) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(entry.recordId, entry.room.id, data.webinarId ?? null, data.trigger ?? 'manual', entry.broadcast.status().startedAt, 'live', paths.landscape ?? paths.vertical);
    for (const program of ['landscape', 'vertical'] as const) {
      const path = paths[program];
      if (path) entry.recordings.push({ id: this.recordings.begin(entry.recordId, entry.room.id, path, program), path, program });
    }
    this.options.events?.publish('broadcast.started', {
      broadcastId: entry.recordId,
      roomId: entry.room.id,
      roomName: entry.room.name,
      webinarId: data.webinarId ?? null,
      trigger: data.trigger ?? 'manual',
      startedAt: entry.broadcast.status().startedAt,
      resolution: data.resolution ?? '720p',
      layout: data.layout ?? 'auto',
      recording: paths.landscape !== null,
      recordingVertical: paths.vertical !== null,
      destinations: entry.broadcast.status().destinations.map(({ destinationId, name, platform, maskedUrl }) => ({ destinationId, name, platform, maskedUrl })),
    });
  }

  /** Go live from the preview: the same program, now sent to the destinations (and recorded); the history starts now. */
  private goLive(entry: LiveBroadcast, data: StartOptions): ResponseData['startBroadcast'] {
    const destinations = this.resolveDestinations(data.destinationIds);
    this.assertGoesSomewhere(destinations, data);
    const { recordPath, verticalRecordPath, page, eventPage } = this.sinksFor(entry.room, entry.recordId, data);
    for (const d of destinations) if (d.unverifiedTls) entry.untrusted.add(d.id);
    entry.broadcast.update({
      ...(data.layout ? { layout: data.layout } : {}),
      ...(data.verticalLayout ? { verticalLayout: data.verticalLayout } : {}),
      ...(data.title !== undefined ? { title: data.title } : {}),
      ...(data.lowerThird !== undefined ? { lowerThird: data.lowerThird } : {}),
      ...(data.slateText ? { slateText: data.slateText } : {}),
      ...(data.idleTimeoutMinutes ? { idleTimeoutMinutes: data.idleTimeoutMinutes } : {}),
    });
    entry.broadcast.goLive({ destinations, recordPath, verticalRecordPath, eventPage });
    entry.previewOnly = false;
    entry.eventPage = page !== null;
    if (eventPage) this.options.eventPages?.attach(entry.room.id, eventPage.dir);
    entry.health = new HealthHistory({ startedAtMs: Date.parse(entry.broadcast.status().startedAt) });
    this.recordStart(entry, data, { landscape: recordPath, vertical: verticalRecordPath });
    const status = entry.broadcast.status();
    this.onStatus(entry, status);
    return { broadcast: this.withHealth(entry, status) };
  }

  async update(room: Room, _peer: Peer | null, data: RequestData<'updateBroadcast'>): Promise<ResponseData['updateBroadcast']> {
    const entry = this.live.get(room.id);
    if (!entry) throw new AppError('NOT_LIVE', 'This meeting is not live.');
    const { addDestinationIds = [], removeDestinationIds = [], ...rest } = data;
    const added = this.resolveDestinations(addDestinationIds);
    entry.broadcast.update(rest);
    if (rest.logoCorner) this.logos.setCorner(room.id, rest.logoCorner);
    for (const d of added) {
      if (d.unverifiedTls) entry.untrusted.add(d.id);
      entry.broadcast.addDestination(d);
    }
    for (const id of removeDestinationIds) entry.broadcast.removeDestination(id);
    const status = entry.broadcast.status();
    this.onStatus(entry, status);
    return { broadcast: this.withHealth(entry, status) };
  }

  /**
   * The room's logo (PNG bytes, up to LOGO_MAX_BYTES): checked (the PNG signature, then decoded by
   * ffmpeg), kept for the room's next broadcasts, and on air at once when the room is live.
   */
  async setLogo(roomId: string, png: Buffer, corner?: LogoCorner): Promise<BroadcastStatus | null> {
    if (png.length > LOGO_MAX_BYTES) {
      throw new AppError('LOGO_TOO_LARGE', `The logo is ${Math.ceil(png.length / 1024)} kB; it can be at most ${LOGO_MAX_BYTES / 1024} kB.`);
    }
    if (!hasPngSignature(png)) throw new AppError('LOGO_INVALID', 'The logo must be a PNG image; this file is not one.');
    const entry = this.live.get(roomId);
    try {
      if (entry && corner) entry.broadcast.update({ logoCorner: corner });
      if (entry) await entry.broadcast.setLogo(png);
      else await decodeLogo(this.ffmpeg(), png, logoBox(FRAME_SIZES['720p']));
    } catch (error) {
      if (!(error instanceof LogoDecodeError)) throw error;
      throw new AppError('LOGO_INVALID', 'The logo could not be read as a PNG image (the file may be damaged). Save it again as PNG and upload it again.');
    }
    this.logos.put(roomId, png, corner);
    return entry ? this.withHealth(entry, entry.broadcast.status()) : null;
  }

  /** Takes the room's logo off air and forgets it. */
  /** Moves the room's logo to another corner (on air at once when live). */
  setLogoCorner(roomId: string, corner: LogoCorner): BroadcastStatus | null {
    if (!this.logos.setCorner(roomId, corner)) throw new AppError('LOGO_NOT_FOUND', 'This room has no logo yet. Upload a PNG first.');
    const entry = this.live.get(roomId);
    if (!entry) return null;
    entry.broadcast.update({ logoCorner: corner });
    return this.withHealth(entry, entry.broadcast.status());
  }

  async removeLogo(roomId: string): Promise<BroadcastStatus | null> {
    this.logos.delete(roomId);
    const entry = this.live.get(roomId);
    if (!entry) return null;
    await entry.broadcast.setLogo(null);
    return this.withHealth(entry, entry.broadcast.status());
  }

  /**
   * Removes the event page segments a crash or kill left behind (nothing is live at start): those
   * of broadcasts that were not recorded. A recorded broadcast's segments stay, as after a Stop.
   */
  sweepEventPageSegments(): void {
    const root = join(this.options.config.dataDir, 'hls');
    if (!existsSync(root)) return;
    const recorded = this.options.db.prepare('SELECT recording_file FROM broadcasts WHERE id = ?');
    for (const name of readdirSync(root)) {
      const row = recorded.get(name) as { recording_file: string | null } | undefined;
      if (!row?.recording_file) rmSync(join(root, name), { recursive: true, force: true });
    }
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

  /** The room's live broadcast with its recent health (the admin's live view), or null when it is not live. */
  liveStatus(roomId: string): BroadcastStatus | null {
    const entry = this.live.get(roomId);
    return entry ? this.withHealth(entry, entry.broadcast.status()) : null;
  }

  /** A deleted destination leaves every live broadcast that was pushing to it. */
  onDestinationDeleted(destinationId: string): void {
    for (const entry of this.live.values()) entry.broadcast.removeDestination(destinationId);
  }

  /** The status with the last minutes of health (only for hosts: guests do not need it on every status). */
  private withHealth(entry: LiveBroadcast, status: BroadcastStatus): BroadcastStatus {
    return { ...this.withEventPage(entry, status), health: entry.health.snapshot(status.destinations.map((d) => d.destinationId)) };
  }

  /** The status with the event page's address and viewer count, when the broadcast has one. */
  private withEventPage(entry: LiveBroadcast, status: BroadcastStatus): BroadcastStatus {
    const pages = this.options.eventPages;
    const page = entry.eventPage ? pages?.forRoom(entry.room.id) : null;
    if (!page || !pages) return status;
    return { ...status, eventPage: { url: pages.url(page.slug), viewers: pages.viewers.count(entry.room.id), private: page.private } };
  }

  private onStatus(entry: LiveBroadcast, status: BroadcastStatus): void {
    for (const d of status.destinations) this.track(entry, d);
    entry.health.sample(status, Date.now());
    const forHosts = this.withHealth(entry, status);
    const forGuests = this.withEventPage(entry, status);
    for (const peer of entry.room.joinedPeers) peer.notify('broadcast', { broadcast: peer.role === 'guest' ? forGuests : forHosts });
    // Watchers (the dashboard's preview, only for the room's hosts) follow the status as it changes, not at their page's poll.
    for (const watcher of entry.room.watchers.values()) watcher.notify('broadcast', { broadcast: forHosts });
    const now = Date.now();
    if (!entry.previewOnly && now - entry.lastPersist >= PERSIST_INTERVAL_MS) {
      entry.lastPersist = now;
      this.persist(entry, 'live', null);
    }
  }

  private track(entry: LiveBroadcast, d: DestinationStatus): void {
    let o = entry.outcomes.get(d.destinationId);
    const previous: DestinationState | null = o ? (o.outcome as DestinationState) : null;
    if (!o) {
      o = { destinationId: d.destinationId, name: d.name, maskedUrl: d.maskedUrl, program: d.program, outcome: d.state, liveSeconds: 0, retries: 0, errors: [], liveSinceMs: null };
      if (entry.untrusted.has(d.destinationId)) o.untrustedCertificate = true;
      entry.outcomes.set(d.destinationId, o);
    }
    const now = Date.now();
    if (d.state === 'live' && o.liveSinceMs === null) o.liveSinceMs = now;
    if (d.state !== 'live' && o.liveSinceMs !== null) {
      o.liveSeconds += (now - o.liveSinceMs) / 1000;
      o.liveSinceMs = null;
    }
    if (previous !== d.state) {
      this.options.events?.publish('destination.state_changed', {
        broadcastId: entry.recordId,
        roomId: entry.room.id,
        destinationId: d.destinationId,
        name: d.name,
        platform: d.platform,
        maskedUrl: d.maskedUrl,
        state: d.state,
        previousState: previous,
        error: d.lastError === null ? null : redact(d.lastError),
        retries: d.retries,
      });
    }
    o.outcome = d.state;
    o.retries = d.retries;
    if (d.lastError && o.errors[o.errors.length - 1] !== d.lastError && o.errors.length < 20) o.errors.push(redact(d.lastError));
  }

  /** Writes the broadcast's state and each destination's outcome to the history; returns the outcomes written. */
  private persist(entry: LiveBroadcast, state: string, stoppedAt: string | null): DestinationOutcome[] {
    const now = Date.now();
    const destinations = [...entry.outcomes.values()].map(({ liveSinceMs, ...o }) => ({
      ...o,
      liveSeconds: Math.round((o.liveSeconds + (liveSinceMs === null ? 0 : (now - liveSinceMs) / 1000)) * 10) / 10,
      averageBitrateKbps: entry.health.averageBitrateKbps(o.destinationId),
    }));
    this.options.db
      .prepare('UPDATE broadcasts SET state = ?, stopped_at = COALESCE(?, stopped_at), destinations_json = ? WHERE id = ?')
      .run(state, stoppedAt, JSON.stringify(destinations), entry.recordId);
    return destinations;
  }

  private onClosed(entry: LiveBroadcast): void {
    if (this.live.get(entry.room.id) !== entry) return;
    this.live.delete(entry.room.id);
    if (entry.room.broadcast === entry.attached) entry.room.broadcast = null;
    if (entry.holdsRoom) entry.room.release();
    if (entry.eventPage) this.options.eventPages?.detach(entry.room.id);
    const final = entry.broadcast.status();
    for (const d of final.destinations) this.track(entry, d);
    if (entry.stopReason !== null) for (const o of entry.outcomes.values()) if (o.outcome === 'stopped') o.stopReason = entry.stopReason;
    const stoppedAt = new Date().toISOString();
    if (!entry.previewOnly) {
      const outcomes = this.persist(entry, final.state === 'failed' ? 'failed' : 'stopped', stoppedAt);
      this.publishStopped(entry, final, outcomes, stoppedAt);
    }
    for (const peer of [...entry.room.joinedPeers, ...entry.room.watchers.values()]) peer.notify('broadcast', { broadcast: null });
    // The recording sinks are closed (the Broadcast closes them before 'closed'): remux them to MP4.
    for (const { id } of entry.recordings) void this.recordings.finish(id);
  }

  /** broadcast.stopped with every destination's outcome, then recording.ready once the file is closed. */
  private publishStopped(entry: LiveBroadcast, final: BroadcastStatus, outcomes: DestinationOutcome[], stoppedAt: string): void {
    const events = this.options.events;
    if (!events) return;
    const row = this.options.db.prepare('SELECT webinar_id, started_at, recording_file FROM broadcasts WHERE id = ?').get(entry.recordId) as
      | { webinar_id: string | null; started_at: string; recording_file: string | null }
      | undefined;
    const file = row?.recording_file ?? null;
    events.publish('broadcast.stopped', {
      broadcastId: entry.recordId,
      roomId: entry.room.id,
      roomName: entry.room.name,
      webinarId: row?.webinar_id ?? null,
      startedAt: final.startedAt,
      stoppedAt,
      durationSeconds: Math.round((Date.parse(stoppedAt) - Date.parse(final.startedAt)) / 100) / 10,
      state: final.state === 'failed' ? 'failed' : 'stopped',
      recordingFile: file,
      destinations: outcomes,
    });
    // The Broadcast closes its recording sinks before it emits 'closed': the files are complete now.
    for (const { path, program } of entry.recordings) {
      if (existsSync(path)) events.publish('recording.ready', { broadcastId: entry.recordId, roomId: entry.room.id, file: path, bytes: statSync(path).size, program });
    }
  }

  /**
   * Test as a preflight: pushes a few seconds of test stream with the broadcast's own encoder
   * settings at `resolution` and checks, rule by rule, what was sent against what the platform asks.
   */
  async testDestination(d: PublishTarget, resolution: Resolution = '720p'): Promise<DestinationTestReply> {
    const started = Date.now();
    const { failure, measurements, host } = await testPush({
      ffmpegPath: this.ffmpeg(),
      publishUrl: d.publishUrl,
      allowUntrustedCertificate: d.allowUntrustedCertificate,
      resolution,
      logger: this.options.logger.child({ destination: d.id }),
    });
    const durationMs = Date.now() - started;
    const failureWords = failure ? redact(failure.message) : null;
    const rules = preflightRules(measurements, { platform: d.platform, resolution, failure: failureWords, host });
    if (failureWords !== null) {
      this.options.logger.info({ destination: d.id, message: failureWords }, 'destination test failed');
      return { ok: false, message: failureWords, durationMs, resolution, rules };
    }
    const broken = rules.filter((r) => r.ok === false);
    if (broken.length === 0) {
      return { ok: true, message: `${d.name} accepted a ${TEST_SECONDS}-second ${resolution} test stream, and it passes every check.`, durationMs, resolution, rules };
    }
    const which = broken.map((r) => r.rule).join('; ');
    return { ok: false, message: `${d.name} accepted the test stream, but ${broken.length === 1 ? 'one check fails' : `${broken.length} checks fail`}: ${which}.`, durationMs, resolution, rules };
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
    const visible = rows
      .filter((r) => user.role === 'admin' || r.owner_id === user.id || (r.host_ids_json ?? '').includes(`"${user.id}"`))
      .slice(0, limit);
    const recordings = this.recordings.forBroadcasts(visible.map((r) => r.id));
    return visible.map((r) => ({
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
        recordings: recordings.get(r.id) ?? [],
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
    await this.recordings.close();
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

/**
 * Who is in the program: the joined peers with their on-air producers (backstage ones are left
 * out, video and microphone); someone whose person is backstage but whose screen is on air
 * appears as that screen alone.
 */
/**
 * The program follows the room through one event (membership, media, on air, the featured
 * speaker); the room never calls into the broadcast. Ends with the broadcast.
 */
export function followStage(room: Pick<Room, 'on' | 'off'>, broadcast: Pick<Broadcast, 'refresh' | 'once'>): void {
  const onStageChanged = (): void => broadcast.refresh();
  room.on('stagechanged', onStageChanged);
  broadcast.once('closed', () => room.off('stagechanged', onStageChanged));
}

export function onAirParticipants(room: Pick<Room, 'joinedPeers'>): BroadcastParticipant[] {
  return room.joinedPeers.flatMap((p) => {
    const producers = [...p.producers.values()].filter((x) => p.isOnAir(x.source));
    if (!p.onAir.camera && !producers.some((x) => x.source === 'screen')) return [];
    return [{ peerId: p.id, displayName: p.displayName, producers, screenOnly: !p.onAir.camera }];
  });
}
