import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { RtcPorts } from '../config.js';
import type { Logger } from '../logger.js';

export interface WorkerPoolOptions {
  numWorkers: number;
  workerBin: string | null;
  /** IP the media sockets bind to. */
  listenIp: string;
  /** IP or host name announced in ICE candidates instead of listenIp. */
  announcedAddress: string | null;
  ports: RtcPorts;
  logger: Logger;
}

/** Where a room's WebRTC transports listen: its worker's WebRtcServer, or their own ports. */
export type WebRtcListen = { webRtcServer: types.WebRtcServer } | { listenInfos: types.TransportListenInfo[] };

/** The UDP and TCP port a worker's WebRtcServer listens on. */
export interface MediaPorts {
  udp: number;
  tcp: number;
}

interface Slot {
  worker: types.Worker;
  listen: WebRtcListen;
  /** Null in range mode (each transport has its own ports). */
  mediaPorts: MediaPorts | null;
  rooms: number;
}

/** Where a random port is taken from when RTC_PORT is 0 (mediasoup retries until a bind succeeds). */
const RANDOM_PORT_RANGE = { min: 40000, max: 49999 };

/**
 * mediasoup workers, one per core by default. A room goes to the worker with the fewest rooms. A
 * worker that dies is replaced (with a new WebRtcServer on the same port); its rooms close through
 * their routers' `workerclose`.
 *
 * In the default mode each worker has one WebRtcServer, on UDP and TCP port `RTC_PORT + index`,
 * and every WebRTC transport of its rooms goes through it: a firewall opens one port per worker.
 * The workers cannot share one port: a WebRtcServer lives inside one worker process, which only
 * knows its own transports' ICE username fragments. Binding the same port in several workers
 * (mediasoup's `udpReusePort`, SO_REUSEADDR/SO_REUSEPORT) would let the kernel hand a client's
 * packets to whichever socket it picks (by address hash, or the last bound), often a worker that
 * does not have that client's transport and drops them. mediasoup's own docs say N workers need N
 * WebRtcServers on different ports.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private closed = false;

  private constructor(private readonly options: WorkerPoolOptions) {}

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      for (let i = 0; i < options.numWorkers; i++) pool.slots.push(await pool.spawn(i));
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  private listenInfo(protocol: 'udp' | 'tcp', where: { port: number } | { portRange: { min: number; max: number } }): types.TransportListenInfo {
    const { listenIp, announcedAddress } = this.options;
    return { protocol, ip: listenIp, ...where, ...(announcedAddress ? { announcedAddress } : {}) };
  }

  private async spawn(index: number): Promise<Slot> {
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      ...(this.options.workerBin ? { workerBin: this.options.workerBin } : {}),
    });
    // mediasoup closes every worker on the process's SIGINT/SIGTERM by itself, which would end the
    // rooms (and the broadcasts' inputs) before the server's shutdown has stopped the broadcasts
    // cleanly; the pool closes its workers last, when the app closes.
    const onSignal = (worker as unknown as { onSignal?: () => void }).onSignal;
    if (onSignal) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeListener(signal, onSignal);
    let slot: Slot;
    try {
      slot = { worker, rooms: 0, ...(await this.listenFor(worker, index)) };
    } catch (error) {
      worker.close();
      throw error;
    }
    worker.on('died', (error) => {
      this.options.logger.error({ err: error, pid: worker.pid }, 'mediasoup worker died; replacing it');
      if (this.closed) return;
      this.spawn(index)
        .then((replacement) => {
          if (this.closed) {
            replacement.worker.close();
            return;
          }
          this.slots[index] = replacement;
        })
        .catch((err: unknown) => this.options.logger.fatal({ err }, 'could not replace a dead mediasoup worker'));
    });
    this.options.logger.debug({ pid: worker.pid, index }, 'mediasoup worker started');
    return slot;
  }

  private async listenFor(worker: types.Worker, index: number): Promise<Pick<Slot, 'listen' | 'mediaPorts'>> {
    const { ports, numWorkers } = this.options;
    if (ports.kind === 'range') {
      const span = Math.floor((ports.max - ports.min + 1) / numWorkers);
      if (span < 10) throw new Error(`RTC port range ${ports.min}-${ports.max} is too small for ${numWorkers} workers`);
      const portRange = { min: ports.min + index * span, max: ports.min + (index + 1) * span - 1 };
      return { listen: { listenInfos: [this.listenInfo('udp', { portRange }), this.listenInfo('tcp', { portRange })] }, mediaPorts: null };
    }
    const where = ports.port === 0 ? { portRange: RANDOM_PORT_RANGE } : { port: ports.port + index };
    let webRtcServer: types.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({ listenInfos: [this.listenInfo('udp', where), this.listenInfo('tcp', where)] });
    } catch (error) {
      const which = ports.port === 0 ? 'a free port' : `port ${ports.port + index}`;
      throw new MediaPortUnavailable(
        `cannot listen for WebRTC on ${which} (UDP and TCP) of ${this.options.listenIp} for mediasoup worker ${index}: ` +
          `${error instanceof Error ? error.message : String(error)}. Is another OnAir running? Set RTC_PORT.`,
      );
    }
    const dump = await webRtcServer.dump();
    const mediaPorts = { udp: dump.udpSockets[0]?.port ?? 0, tcp: dump.tcpServers[0]?.port ?? 0 };
    this.options.logger.debug({ index, ip: this.options.listenIp, ...mediaPorts }, 'WebRTC media port open');
    return { listen: { webRtcServer }, mediaPorts };
  }

  /** The least loaded worker and where its transports listen; call release() when the room closes. */
  acquire(): { worker: types.Worker; listen: WebRtcListen; release: () => void } {
    const slot = this.slots.reduce((best, s) => (s.rooms < best.rooms ? s : best));
    slot.rooms++;
    let released = false;
    return {
      worker: slot.worker,
      listen: slot.listen,
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

  /** Each worker's WebRTC ports, in worker order; null in range mode. */
  get mediaPorts(): Array<MediaPorts | null> {
    return this.slots.map((s) => s.mediaPorts);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.worker.close();
  }
}

/** The WebRTC port cannot be opened (in use, or not allowed); the server cannot start. */
export class MediaPortUnavailable extends Error {
  override readonly name = 'MediaPortUnavailable';
}
