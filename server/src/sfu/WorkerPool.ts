import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';

export interface WorkerPoolOptions {
  numWorkers: number;
  workerBin: string | null;
  rtcMinPort: number;
  rtcMaxPort: number;
  logger: Logger;
}

interface Slot {
  worker: types.Worker;
  portRange: { min: number; max: number };
  rooms: number;
}

/**
 * mediasoup workers, one per core by default, each with its own slice of the RTC port range.
 * A room goes to the worker with the fewest rooms. A worker that dies is replaced; its rooms
 * close through their routers' `workerclose`.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private closed = false;

  private constructor(private readonly options: WorkerPoolOptions) {}

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    const span = Math.floor((options.rtcMaxPort - options.rtcMinPort + 1) / options.numWorkers);
    if (span < 10) throw new Error(`RTC port range ${options.rtcMinPort}-${options.rtcMaxPort} is too small for ${options.numWorkers} workers`);
    for (let i = 0; i < options.numWorkers; i++) {
      const portRange = { min: options.rtcMinPort + i * span, max: options.rtcMinPort + (i + 1) * span - 1 };
      pool.slots.push({ worker: await pool.spawn(i), portRange, rooms: 0 });
    }
    return pool;
  }

  private async spawn(index: number): Promise<types.Worker> {
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      ...(this.options.workerBin ? { workerBin: this.options.workerBin } : {}),
    });
    worker.on('died', (error) => {
      this.options.logger.error({ err: error, pid: worker.pid }, 'mediasoup worker died; replacing it');
      if (this.closed) return;
      this.spawn(index)
        .then((replacement) => {
          const slot = this.slots[index];
          if (slot) {
            slot.worker = replacement;
            slot.rooms = 0;
          }
        })
        .catch((err: unknown) => this.options.logger.fatal({ err }, 'could not replace a dead mediasoup worker'));
    });
    this.options.logger.debug({ pid: worker.pid, index }, 'mediasoup worker started');
    return worker;
  }

  /** The least loaded worker; call release() when the room closes. */
  acquire(): { worker: types.Worker; portRange: { min: number; max: number }; release: () => void } {
    const slot = this.slots.reduce((best, s) => (s.rooms < best.rooms ? s : best));
    slot.rooms++;
    let released = false;
    return {
      worker: slot.worker,
      portRange: slot.portRange,
      release: () => {
        if (released) return;
        released = true;
        slot.rooms = Math.max(0, slot.rooms - 1);
      },
    };
  }

  get workers(): types.Worker[] {
    return this.slots.map((s) => s.worker);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.worker.close();
  }
}
