import type { ErrorBody } from '@onair/shared';
import type { Logger } from '../logger.js';
import { TypedEmitter } from '../media/TypedEmitter.js';
import { Room } from './Room.js';
import type { WorkerPool } from './WorkerPool.js';

export interface RoomRegistryOptions {
  pool: WorkerPool;
  graceMs: number;
  logger: Logger;
}

export type RoomRegistryEvents = {
  /** A room opened (its first participant, or a broadcast): the cameras service starts its pulls. */
  roomopened: [Room];
};

/** The rooms open right now (stored rooms open on first use and close when empty). */
export class RoomRegistry extends TypedEmitter<RoomRegistryEvents> {
  private readonly rooms = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();

  constructor(private readonly options: RoomRegistryOptions) {
    super(options.logger);
  }

  get(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  list(): Room[] {
    return [...this.rooms.values()];
  }

  async open(id: string, name: string): Promise<Room> {
    const existing = this.rooms.get(id);
    if (existing && !existing.closed) return existing;
    const pending = this.opening.get(id);
    if (pending) return pending;
    const { worker, listen, release } = this.options.pool.acquire();
    const promise = Room.create({
      id,
      name,
      worker,
      listen,
      graceMs: this.options.graceMs,
      logger: this.options.logger,
    })
      .then((room) => {
        this.rooms.set(id, room);
        room.on('closed', () => {
          release();
          if (this.rooms.get(id) === room) this.rooms.delete(id);
        });
        this.emit('roomopened', room);
        return room;
      })
      .catch((error: unknown) => {
        release();
        throw error;
      })
      .finally(() => this.opening.delete(id));
    this.opening.set(id, promise);
    return promise;
  }

  /** Ends every session of this account in every open room now (its tokens were revoked). */
  disconnectUser(userId: string, reason: ErrorBody): void {
    for (const room of this.rooms.values()) room.dismiss((peer) => peer.userKey === userId, reason);
  }

  /** At shutdown: peers are told the server is restarting, so their clients reconnect. */
  async closeAll(): Promise<void> {
    const reason = { code: 'SERVER_RESTARTING', message: 'The server is restarting.' } as const;
    await Promise.all([...this.rooms.values()].map((r) => r.close(reason)));
  }
}
