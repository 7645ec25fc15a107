import type { BroadcastStatus, DestinationState } from '@onair/shared';
import type { types as ms } from 'mediasoup';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { redact } from '../logger.js';

/** What a scrape reads from a room's participant. */
export interface MetricsPeer {
  producers: ReadonlyMap<string, unknown>;
  consumers: ReadonlyMap<string, unknown>;
}

/** What a scrape reads from a room. */
export interface MetricsRoom {
  peers: ReadonlyMap<string, MetricsPeer>;
}

/** What a scrape reads from a live broadcast (`program`: the compositor's frame counts, when it has one). */
export interface MetricsBroadcast {
  status(): BroadcastStatus;
  stats(): { program?: { frames: number; droppedFrames: number; repeatedFrames: number } };
  destinationCounters(): Array<{ destinationId: string; sentBytes: number; droppedBytes: number }>;
}

export interface MetricsSources {
  rooms: () => readonly MetricsRoom[];
  /** The mediasoup workers, in pool order (their index is the `worker` label). */
  workers: () => readonly ms.Worker[];
  broadcasts: () => readonly MetricsBroadcast[];
}

const DESTINATION_STATES: readonly DestinationState[] = ['connecting', 'live', 'retrying', 'failed', 'stopped'];
const DESTINATION_LABELS = ['destination_id', 'destination_name', 'platform'] as const;
/** Request durations from 5 ms (a health check) to 10 s (a destination Test takes about 5 s). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * OnAir's Prometheus series, in a registry of its own. Everything but the HTTP histogram is read
 * from the rooms, workers and broadcasts when scraped, so nothing has to be kept in step. Labels
 * never hold a URL or a stream key: a destination is its id, its name (redacted) and its platform.
 * A destination pushed to by two broadcasts at once sums over both.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #http: Histogram<'method' | 'route' | 'status_code'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#http = new Histogram({
      name: 'onair_http_request_duration_seconds',
      help: 'HTTP request durations, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers,
    });

    const sum = (rooms: readonly MetricsRoom[], of: (peer: MetricsPeer) => number): number =>
      rooms.reduce((n, room) => n + [...room.peers.values()].reduce((m, peer) => m + of(peer), 0), 0);
    new Gauge({
      name: 'onair_rooms_open',
      help: 'Rooms open now (each a mediasoup router).',
      registers,
      collect() {
        this.set(sources.rooms().length);
      },
    });
    new Gauge({
      name: 'onair_peers',
      help: 'Participants connected to an open room.',
      registers,
      collect() {
        this.set(sum(sources.rooms(), () => 1));
      },
    });
    new Gauge({
      name: 'onair_producers',
      help: 'mediasoup producers (microphones, cameras, screen shares) of connected participants.',
      registers,
      collect() {
        this.set(sum(sources.rooms(), (p) => p.producers.size));
      },
    });
    new Gauge({
      name: 'onair_consumers',
      help: 'mediasoup consumers (one per stream a participant receives).',
      registers,
      collect() {
        this.set(sum(sources.rooms(), (p) => p.consumers.size));
      },
    });

    const usage = (): Promise<Array<{ worker: string; usage: ms.WorkerResourceUsage }>> =>
      Promise.all(
        sources.workers().map(async (w, i) => {
          if (w.closed || w.died) return null;
          const u = await w.getResourceUsage().catch(() => null);
          return u ? { worker: String(i), usage: u } : null;
        }),
      ).then((all) => all.filter((x) => x !== null));
    new Counter({
      name: 'onair_mediasoup_worker_cpu_seconds_total',
      help: 'CPU time used by each mediasoup worker process, user and system.',
      labelNames: ['worker', 'mode'],
      registers,
      async collect() {
        this.reset();
        for (const { worker, usage: u } of await usage()) {
          this.inc({ worker, mode: 'user' }, u.ru_utime / 1000);
          this.inc({ worker, mode: 'system' }, u.ru_stime / 1000);
        }
      },
    });
    new Gauge({
      name: 'onair_mediasoup_worker_max_resident_memory_bytes',
      help: 'Peak resident memory of each mediasoup worker process.',
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        // getrusage reports ru_maxrss in kilobytes on Linux.
        for (const { worker, usage: u } of await usage()) this.set({ worker }, u.ru_maxrss * 1024);
      },
    });
    new Gauge({
      name: 'onair_mediasoup_workers_alive',
      help: 'mediasoup worker processes running (a dead one is replaced).',
      registers,
      collect() {
        this.set(sources.workers().filter((w) => !w.closed && !w.died).length);
      },
    });

    const statuses = (): BroadcastStatus[] => sources.broadcasts().map((b) => b.status());
    new Gauge({
      name: 'onair_broadcasts_live',
      help: 'Broadcasts live now (their composer is on air).',
      registers,
      collect() {
        this.set(statuses().filter((s) => s.state === 'live').length);
      },
    });
    new Gauge({
      name: 'onair_composer_frames_per_second',
      help: "Video frames per second leaving each live broadcast's composer.",
      labelNames: ['room'],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) this.set({ room: s.roomId }, s.composer.fps);
      },
    });
    new Counter({
      name: 'onair_composer_crashes_total',
      help: "Times each live broadcast's composer stopped and was restarted.",
      labelNames: ['room'],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) this.inc({ room: s.roomId }, s.composer.crashes);
      },
    });
    const programs = (): Array<{ room: string; program: NonNullable<ReturnType<MetricsBroadcast['stats']>['program']> }> =>
      sources.broadcasts().flatMap((b) => {
        const program = b.stats().program;
        return program ? [{ room: b.status().roomId, program }] : [];
      });
    const programCounter = (name: string, help: string, value: (p: ReturnType<typeof programs>[number]['program']) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['room'],
        registers,
        collect() {
          this.reset();
          for (const { room, program } of programs()) this.inc({ room }, value(program));
        },
      });
    };
    programCounter('onair_composer_frames_total', "Video frames each live broadcast's compositor has sent to its encoder.", (p) => p.frames);
    programCounter(
      'onair_composer_dropped_frames_total',
      "Output frames each live broadcast's compositor skipped (no encoder running, or it fell behind).",
      (p) => p.droppedFrames,
    );
    programCounter(
      'onair_composer_repeated_frames_total',
      "Output frames that repeated the previous picture because the encoder had not taken the others yet.",
      (p) => p.repeatedFrames,
    );

    type DestinationLabels = Record<(typeof DESTINATION_LABELS)[number], string>;
    const destinations = (): Array<{ labels: DestinationLabels; d: BroadcastStatus['destinations'][number]; sentBytes: number; droppedBytes: number }> =>
      sources.broadcasts().flatMap((b) => {
        const counters = new Map(b.destinationCounters().map((c) => [c.destinationId, c]));
        return b.status().destinations.map((d) => ({
          labels: { destination_id: d.destinationId, destination_name: redact(d.name), platform: d.platform },
          d,
          sentBytes: counters.get(d.destinationId)?.sentBytes ?? 0,
          droppedBytes: counters.get(d.destinationId)?.droppedBytes ?? 0,
        }));
      });
    new Gauge({
      name: 'onair_destination_state',
      help: 'Each destination of a live broadcast: 1 for the state it is in, 0 for the others.',
      labelNames: [...DESTINATION_LABELS, 'state'],
      registers,
      collect() {
        this.reset();
        for (const { labels, d } of destinations()) {
          for (const state of DESTINATION_STATES) this.inc({ ...labels, state }, d.state === state ? 1 : 0);
        }
      },
    });
    type Destination = ReturnType<typeof destinations>[number];
    const fill = (value: (x: Destination) => number) =>
      function collect(this: { reset(): void; inc(labels: DestinationLabels, value: number): void }): void {
        this.reset();
        for (const x of destinations()) this.inc(x.labels, value(x));
      };
    const labelNames = DESTINATION_LABELS;
    new Gauge({
      name: 'onair_destination_bitrate_bits_per_second',
      help: 'Bits per second each destination is sending (0 unless live).',
      labelNames,
      registers,
      collect: fill((x) => x.d.bitrateKbps * 1000),
    });
    new Gauge({
      name: 'onair_destination_frames_per_second',
      help: 'Video frames per second each destination is sending (0 unless live).',
      labelNames,
      registers,
      collect: fill((x) => x.d.fps),
    });
    new Counter({
      name: 'onair_destination_retries_total',
      help: 'Reconnections of each destination since its broadcast started.',
      labelNames,
      registers,
      collect: fill((x) => x.d.retries),
    });
    new Counter({
      name: 'onair_destination_sent_bytes_total',
      help: 'Bytes sent to each destination, over all its retries.',
      labelNames,
      registers,
      collect: fill((x) => x.sentBytes),
    });
    new Counter({
      name: 'onair_destination_dropped_bytes_total',
      help: 'Bytes of the stream dropped because a destination was not taking them fast enough.',
      labelNames,
      registers,
      collect: fill((x) => x.droppedBytes),
    });
  }

  /** Records one HTTP request; `route` is the route's pattern (never the raw URL). */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    this.#http.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every series. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
