import type { WebinarStatus } from '@onair/shared';
import type { ServerEvents } from '../events/ServerEvents.js';
import type { Logger } from '../logger.js';
import type { WebinarRecord, WebinarsRepo } from '../persistence/webinars.js';
import { systemClock, type Clock as FullClock } from '../media/clock.js';

/** The scheduler only reads the time (it ticks on its own interval): the shared Clock's now(). */
export type Clock = Pick<FullClock, 'now'>;

export { systemClock } from '../media/clock.js';

export interface SchedulerDeps {
  webinars: WebinarsRepo;
  /** Opens the webinar's room and starts its broadcast with the webinar's settings. */
  goLive(webinar: WebinarRecord): Promise<void>;
  /** Stops the webinar's broadcast and lets its room close once empty. */
  stop(webinar: WebinarRecord): Promise<void>;
  /** Whether the webinar's room is live right now. */
  isLive(webinar: WebinarRecord): boolean;
  clock?: Clock;
  /** Where webinar.live, webinar.missed and webinar.ended are published. Default none. */
  events?: ServerEvents;
  logger: Logger;
}

/** After a failed automatic start, wait this long before trying again. */
const RETRY_AFTER_MS = 10_000;

/**
 * Runs the webinar schedule. The schedule lives in the database and every tick re-reads it, so
 * edits, cancellations and restarts need no timers to be moved:
 * - scheduled + auto start, inside its window → goes live (status live);
 * - scheduled, window already over → missed (auto start) or ended;
 * - live, past its end with auto stop → stopped (status ended);
 * - live in the database but not live here (the server restarted) → goes live again while its
 *   window lasts; live but stopped by a host → ended.
 */
export class Scheduler {
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  /** Webinars this process started; a live one missing from here was live before a restart. */
  private readonly startedHere = new Set<string>();
  private readonly lastAttempt = new Map<string, number>();

  constructor(private readonly deps: SchedulerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  start(intervalMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** One pass over the schedule; passes never overlap. */
  tick(): Promise<void> {
    this.running = this.running.then(() => this.pass()).catch((err: unknown) => this.deps.logger.error({ err }, 'scheduler pass failed'));
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.clock.now();
    for (const w of this.deps.webinars.active()) {
      const starts = Date.parse(w.startsAt);
      const ends = Date.parse(w.endsAt);
      if (w.status === 'scheduled') {
        if (now >= ends) {
          this.setStatus(w, w.autoStart ? 'missed' : 'ended');
          this.deps.logger.info({ webinar: w.id }, w.autoStart ? 'webinar missed: its window passed while it could not start' : 'webinar window ended');
        } else if (now >= starts && w.autoStart) {
          await this.startWebinar(w, now);
        }
        continue;
      }
      // status === 'live'
      const live = this.deps.isLive(w);
      if (now >= ends) {
        if (w.autoStop && live) await this.stopWebinar(w);
        else if (!live) this.finish(w);
        // Live past its end without auto stop: the host stops it; it ends when they do.
        continue;
      }
      if (!live) {
        if (this.startedHere.has(w.id)) this.finish(w); // a host pressed Stop
        else if (w.autoStart) await this.startWebinar(w, now); // recovering after a restart
      }
    }
  }

  private async startWebinar(w: WebinarRecord, now: number): Promise<void> {
    const last = this.lastAttempt.get(w.id);
    if (last !== undefined && now - last < RETRY_AFTER_MS) return;
    this.lastAttempt.set(w.id, now);
    try {
      await this.deps.goLive(w);
      this.startedHere.add(w.id);
      this.lastAttempt.delete(w.id);
      this.setStatus(w, 'live');
      this.deps.logger.info({ webinar: w.id }, 'webinar went live on schedule');
    } catch (err) {
      this.deps.logger.error({ err, webinar: w.id }, 'webinar could not go live; will retry');
    }
  }

  private async stopWebinar(w: WebinarRecord): Promise<void> {
    try {
      await this.deps.stop(w);
    } catch (err) {
      this.deps.logger.error({ err, webinar: w.id }, 'stopping the webinar failed');
    }
    this.finish(w);
    this.deps.logger.info({ webinar: w.id }, 'webinar stopped at its end time');
  }

  private finish(w: WebinarRecord): void {
    this.startedHere.delete(w.id);
    this.setStatus(w, 'ended');
  }

  /** Stores the webinar's new status and tells subscribers (webhooks) about it. */
  private setStatus(w: WebinarRecord, status: Extract<WebinarStatus, 'live' | 'missed' | 'ended'>): void {
    this.deps.webinars.setStatus(w.id, status);
    this.deps.events?.publish(`webinar.${status}`, { webinarId: w.id, title: w.title, roomId: w.roomId, startsAt: w.startsAt, endsAt: w.endsAt, status });
  }

  /** Cancelling a live webinar stops it now. */
  async cancel(w: WebinarRecord): Promise<void> {
    if (w.status === 'live' && this.deps.isLive(w)) await this.deps.stop(w);
    this.startedHere.delete(w.id);
    this.deps.webinars.setStatus(w.id, 'cancelled');
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
