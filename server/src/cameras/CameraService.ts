import type { Camera, CameraStatus, CreateCameraBody, UpdateCameraBody } from '@onair/shared';
import type { Logger } from '../logger.js';
import type { BackoffPolicy } from '../media/backoff.js';
import type { Clock } from '../media/clock.js';
import type { CameraRecord, CamerasRepo } from '../persistence/cameras.js';
import type { Room } from '../sfu/Room.js';
import { CameraPuller, type CameraParticipant } from './CameraPuller.js';
import { maskCameraUrl, parseCameraUrl, type CameraCredentials } from './url.js';

/** A camera whose room is closed: nothing is pulled. */
const IDLE: CameraStatus = { state: 'idle', lastError: null, nextAttemptAt: null, liveSince: null, retries: 0, video: null };

export interface CameraServiceOptions {
  repo: CamerasRepo;
  /** The open room with this id, if it is open now. */
  openRoom: (roomId: string) => Room | undefined;
  /** Puts a camera into an open room as a participant (the ingest core). */
  join: (room: Room, camera: CameraRecord) => CameraParticipant;
  /** Resolved when the first pull starts. */
  ffmpegPath: () => string;
  logger: Logger;
  clock: Clock;
  backoff?: BackoffPolicy;
  leaveAfterMs?: number;
}

/**
 * The rooms' IP cameras: stored settings (CamerasRepo) and, while a room is open, one CameraPuller
 * per camera. Call roomOpened() as each room opens; its closing stops its pullers. A camera
 * created, changed or deleted in an open room starts, restarts or stops at once.
 */
export class CameraService {
  readonly #options: CameraServiceOptions;
  readonly #pullers = new Map<string, CameraPuller>();
  #closed = false;

  constructor(options: CameraServiceOptions) {
    this.#options = options;
  }

  /** Starts pulling the room's cameras; they stop when it closes. */
  roomOpened(room: Room): void {
    if (this.#closed) return;
    for (const camera of this.#options.repo.listByRoom(room.id)) this.#startPuller(room, camera);
    room.once('closed', () => {
      for (const camera of this.#options.repo.listByRoom(room.id)) void this.#stopPuller(camera.id);
    });
  }

  list(roomId: string): Camera[] {
    return this.#options.repo.listByRoom(roomId).map((c) => this.#view(c));
  }

  get(roomId: string, cameraId: string): Camera {
    return this.#view(this.#options.repo.get(roomId, cameraId));
  }

  /** The puller of a camera being pulled now (tests read its ffmpeg's pid). */
  puller(cameraId: string): CameraPuller | undefined {
    return this.#pullers.get(cameraId);
  }

  create(roomId: string, body: CreateCameraBody): Camera {
    const { address, credentials } = parseCameraUrl(body.url);
    const record = this.#options.repo.create(roomId, {
      name: body.name,
      url: address.url,
      credentials: mergeCredentials(credentials, body.username, body.password),
      transport: body.transport ?? 'tcp',
    });
    this.#restart(record);
    return this.#view(record);
  }

  update(roomId: string, cameraId: string, body: UpdateCameraBody): Camera {
    const current = this.#options.repo.get(roomId, cameraId);
    let url: string | undefined;
    let credentials: CameraCredentials | null | undefined;
    if (body.url !== undefined) {
      const parsed = parseCameraUrl(body.url);
      url = parsed.address.url;
      if (parsed.credentials) credentials = parsed.credentials;
    }
    if (body.username !== undefined || body.password !== undefined) {
      const stored = current.hasCredentials ? this.#options.repo.credentials(roomId, cameraId) : null;
      credentials = mergeCredentials(credentials ?? stored, body.username, body.password);
    }
    const record = this.#options.repo.update(roomId, cameraId, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(url !== undefined ? { url } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
      ...(body.transport !== undefined ? { transport: body.transport } : {}),
    });
    this.#restart(record);
    return this.#view(record);
  }

  async delete(roomId: string, cameraId: string): Promise<void> {
    this.#options.repo.delete(roomId, cameraId);
    await this.#stopPuller(cameraId);
  }

  /** Stops every pull (at shutdown). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pullers = [...this.#pullers.values()];
    this.#pullers.clear();
    await Promise.all(pullers.map((p) => p.close()));
  }

  #view(record: CameraRecord): Camera {
    return {
      id: record.id,
      roomId: record.roomId,
      name: record.name,
      url: maskCameraUrl(record.url, record.hasCredentials),
      hasCredentials: record.hasCredentials,
      transport: record.transport,
      createdAt: record.createdAt,
      status: this.#pullers.get(record.id)?.status() ?? { ...IDLE },
    };
  }

  #restart(record: CameraRecord): void {
    const room = this.#options.openRoom(record.roomId);
    void this.#stopPuller(record.id);
    if (room && !room.closed) this.#startPuller(room, record);
  }

  #startPuller(room: Room, camera: CameraRecord): void {
    if (this.#closed || this.#pullers.has(camera.id)) return;
    const { repo, join, ffmpegPath, logger, clock, backoff, leaveAfterMs } = this.#options;
    const puller = new CameraPuller({
      camera,
      credentials: () => (camera.hasCredentials ? repo.credentials(camera.roomId, camera.id) : null),
      join: () => join(room, camera),
      ffmpegPath: ffmpegPath(),
      logger,
      clock,
      ...(backoff ? { backoff } : {}),
      ...(leaveAfterMs !== undefined ? { leaveAfterMs } : {}),
    });
    this.#pullers.set(camera.id, puller);
  }

  async #stopPuller(cameraId: string): Promise<void> {
    const puller = this.#pullers.get(cameraId);
    if (!puller) return;
    this.#pullers.delete(cameraId);
    await puller.close();
  }
}

/** Explicit fields win over those in the URL; `username: ""` with no password means none. */
function mergeCredentials(fromUrl: CameraCredentials | null, username: string | undefined, password: string | undefined): CameraCredentials | null {
  const merged = { username: username ?? fromUrl?.username ?? '', password: password ?? fromUrl?.password ?? '' };
  if (username === '' && password === undefined) return null;
  return merged.username === '' && merged.password === '' ? null : merged;
}
