import { HEALTH_MAX_SAMPLES, type BroadcastHealth, type BroadcastStatus, type DestinationHealth } from '@onair/shared';

export interface HealthHistoryOptions {
  /** When the broadcast started (ms since the epoch); sample times are seconds since then. */
  startedAtMs: number;
  /** How far back the series reach. Default 5 minutes. */
  windowMs?: number;
  /**
   * Statuses closer than this to the last sample are not sampled (a burst of state changes).
   * Default 1500 ms, under the broadcast's 2 s status cadence so every periodic status counts.
   */
  minGapMs?: number;
}

interface Totals {
  liveSamples: number;
  bitrateSum: number;
}

/**
 * The last minutes of a live broadcast's health, sampled from its statuses: per destination
 * bitrate, fps, state and retry count, and the program's frame rate. Kept on the server so a host
 * who opens the Go live panel (or an admin who opens the webinar) late still sees the last minutes;
 * also keeps per-destination totals over the whole broadcast for the history's summary.
 */
export class HealthHistory {
  readonly #startedAtMs: number;
  readonly #windowMs: number;
  readonly #minGapMs: number;
  readonly #program = { t: [] as number[], fps: [] as number[] };
  readonly #destinations = new Map<string, DestinationHealth>();
  readonly #totals = new Map<string, Totals>();
  #lastSampleMs = -Infinity;

  constructor(options: HealthHistoryOptions) {
    this.#startedAtMs = options.startedAtMs;
    this.#windowMs = options.windowMs ?? 5 * 60_000;
    this.#minGapMs = options.minGapMs ?? 1500;
  }

  /** Records the status as one sample, unless the last sample is younger than minGapMs. */
  sample(status: BroadcastStatus, nowMs: number): void {
    if (status.state !== 'live' || nowMs - this.#lastSampleMs < this.#minGapMs) return;
    this.#lastSampleMs = nowMs;
    const t = Math.round((nowMs - this.#startedAtMs) / 100) / 10;
    const oldest = t - this.#windowMs / 1000;
    this.#program.t.push(t);
    this.#program.fps.push(round(status.composer.fps));
    trim(this.#program, oldest);
    for (const d of status.destinations) {
      let series = this.#destinations.get(d.destinationId);
      if (!series) {
        series = { destinationId: d.destinationId, t: [], bitrateKbps: [], fps: [], retries: [], state: [] };
        this.#destinations.set(d.destinationId, series);
      }
      series.t.push(t);
      series.bitrateKbps.push(round(d.bitrateKbps));
      series.fps.push(round(d.fps));
      series.retries.push(d.retries);
      series.state.push(d.state);
      trim(series, oldest);
      const totals = this.#totals.get(d.destinationId) ?? { liveSamples: 0, bitrateSum: 0 };
      if (d.state === 'live') {
        totals.liveSamples += 1;
        totals.bitrateSum += d.bitrateKbps;
      }
      this.#totals.set(d.destinationId, totals);
    }
    // A destination removed from the broadcast keeps its series until it leaves the window.
    for (const [id, series] of this.#destinations) {
      if (!status.destinations.some((d) => d.destinationId === id)) trim(series, oldest);
      if (series.t.length === 0) this.#destinations.delete(id);
    }
  }

  /** The series for the destinations in `destinationIds` (the ones in the broadcast now), oldest first. */
  snapshot(destinationIds: readonly string[]): BroadcastHealth {
    return {
      windowSeconds: this.#windowMs / 1000,
      program: { t: [...this.#program.t], fps: [...this.#program.fps] },
      destinations: destinationIds.flatMap((id) => {
        const s = this.#destinations.get(id);
        return s ? [{ ...s, t: [...s.t], bitrateKbps: [...s.bitrateKbps], fps: [...s.fps], retries: [...s.retries], state: [...s.state] }] : [];
      }),
    };
  }

  /** Mean bitrate over the samples the destination was live in, the whole broadcast long; null if it never was. */
  averageBitrateKbps(destinationId: string): number | null {
    const totals = this.#totals.get(destinationId);
    if (!totals || totals.liveSamples === 0) return null;
    return Math.round(totals.bitrateSum / totals.liveSamples);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Drops the samples older than `oldest` (seconds) and beyond HEALTH_MAX_SAMPLES from every array of a series. */
function trim(series: { t: number[] }, oldest: number): void {
  let drop = 0;
  while (drop < series.t.length && (series.t[drop]! < oldest || series.t.length - drop > HEALTH_MAX_SAMPLES)) drop += 1;
  if (drop === 0) return;
  for (const value of Object.values(series)) if (Array.isArray(value)) value.splice(0, drop);
}
