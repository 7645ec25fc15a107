import type { CreateWebinarBody, EventLink, UpdateWebinarBody, User, Webinar } from '@onair/shared';
import { Temporal } from 'temporal-polyfill';
import { AppError } from '../errors.js';
import type { EventPages } from '../eventpage/EventPages.js';
import type { DestinationsRepo } from '../persistence/destinations.js';
import type { RoomsRepo } from '../persistence/rooms.js';
import type { UsersRepo } from '../persistence/users.js';
import type { WebinarInput, WebinarRecord, WebinarsRepo } from '../persistence/webinars.js';
import type { Clock, Scheduler } from './Scheduler.js';

export interface WebinarServiceDeps {
  webinars: WebinarsRepo;
  rooms: RoomsRepo;
  users: UsersRepo;
  destinations: DestinationsRepo;
  scheduler: Scheduler;
  eventPages: EventPages;
  clock: Clock;
  /** Join link with a guest invite for a room. */
  inviteUrl: (roomId: string) => string;
  publicUrl: string;
}

/** A start this far in the past is still accepted (the form took a while to fill in). */
const START_SLACK_MS = 60_000;

/** Validates and stores webinars; the Scheduler picks changes up on its next tick. */
export class WebinarService {
  constructor(private readonly deps: WebinarServiceDeps) {}

  toApi(w: WebinarRecord): Webinar {
    const { createdBy: _createdBy, ...rest } = w;
    // Webinars made before event pages existed get their (off) page on first sight.
    const page = this.deps.eventPages.forRoom(w.roomId) ?? this.deps.eventPages.configure(w.roomId, { enabled: false, private: false, title: w.title });
    return {
      ...rest,
      hostUrl: `${this.deps.publicUrl}/join/${w.roomId}`,
      panelistUrl: this.deps.inviteUrl(w.roomId),
      eventPage: page.enabled,
      eventSlug: page.slug,
      eventPrivate: page.private,
      eventUrl: this.deps.eventPages.url(page.slug),
    };
  }

  /** A new signed link to the webinar's private event page; earlier links stop working. */
  eventLink(id: string, hours?: number): EventLink {
    const w = this.deps.webinars.get(id);
    return this.deps.eventPages.newLink(w.roomId, hours);
  }

  /** Admins see every webinar; a host sees the ones they host. */
  list(user: User): Webinar[] {
    return this.deps.webinars
      .list()
      .filter((w) => user.role === 'admin' || w.hostIds.includes(user.id))
      .map((w) => this.toApi(w));
  }

  get(user: User, id: string): Webinar {
    const w = this.deps.webinars.get(id);
    if (user.role !== 'admin' && !w.hostIds.includes(user.id)) throw new AppError('WEBINAR_NOT_FOUND', `No webinar with id ${id}.`);
    return this.toApi(w);
  }

  create(admin: User, body: CreateWebinarBody): Webinar {
    const input: Omit<WebinarInput, 'roomId'> = {
      title: body.title.trim(),
      description: body.description ?? '',
      startsAt: toInstant('startsAt', body.startsAt),
      endsAt: toInstant('endsAt', body.endsAt),
      timeZone: body.timeZone,
      hostIds: body.hostIds ?? [admin.id],
      destinationIds: body.destinationIds,
      layout: body.layout ?? 'auto',
      resolution: body.resolution ?? '720p',
      verticalLayout: body.verticalLayout ?? 'auto',
      verticalResolution: body.verticalResolution ?? '720p',
      overlayTitle: body.overlayTitle ?? body.title.trim(),
      autoStart: body.autoStart ?? true,
      autoStop: body.autoStop ?? true,
      record: body.record ?? false,
      recordVertical: body.recordVertical ?? false,
      guestsStartBackstage: body.guestsStartBackstage ?? true,
      createdBy: admin.id,
    };
    this.validate(input, null, true);
    if (body.eventSlug !== undefined) this.deps.eventPages.checkSlug(body.eventSlug, null);
    const room = this.deps.rooms.create(input.title, input.hostIds[0] ?? admin.id);
    this.deps.eventPages.configure(room.id, { enabled: body.eventPage ?? false, private: body.eventPrivate ?? false, slug: body.eventSlug, title: input.title });
    const created = this.deps.webinars.create({ ...input, roomId: room.id });
    void this.deps.scheduler.tick();
    return this.toApi(created);
  }

  update(id: string, body: UpdateWebinarBody): Webinar {
    const current = this.deps.webinars.get(id);
    if (current.status !== 'scheduled' && current.status !== 'live') {
      throw new AppError('SCHEDULE_INVALID', `This webinar is ${current.status}; it can no longer be edited.`);
    }
    const next: WebinarRecord = {
      ...current,
      ...body,
      ...(body.startsAt ? { startsAt: toInstant('startsAt', body.startsAt) } : {}),
      ...(body.endsAt ? { endsAt: toInstant('endsAt', body.endsAt) } : {}),
    };
    if (current.status === 'live' && next.startsAt !== current.startsAt) {
      throw new AppError('SCHEDULE_INVALID', 'The start of a live webinar cannot be moved.');
    }
    this.validate(next, id, next.startsAt !== current.startsAt);
    if (body.eventPage !== undefined || body.eventSlug !== undefined || body.eventPrivate !== undefined) {
      const page = this.deps.eventPages.forRoom(current.roomId);
      this.deps.eventPages.configure(current.roomId, {
        enabled: body.eventPage ?? page?.enabled ?? false,
        private: body.eventPrivate ?? page?.private ?? false,
        slug: body.eventSlug,
        title: next.title,
      });
    }
    const updated = this.deps.webinars.update(id, next);
    this.deps.webinars.setWarnings(id, []);
    void this.deps.scheduler.tick();
    return this.toApi(updated);
  }

  async cancel(id: string): Promise<Webinar> {
    const w = this.deps.webinars.get(id);
    if (w.status !== 'scheduled' && w.status !== 'live') throw new AppError('SCHEDULE_INVALID', `This webinar is already ${w.status}.`);
    await this.deps.scheduler.cancel(w);
    return this.toApi(this.deps.webinars.get(id));
  }

  /** Upcoming or live webinars that push to the destination. */
  usingDestination(destinationId: string): WebinarRecord[] {
    return this.deps.webinars.active().filter((w) => w.destinationIds.includes(destinationId));
  }

  /** Removes a deleted destination from upcoming webinars, leaving a warning on each. */
  detachDestination(destinationId: string, name: string): void {
    for (const w of this.usingDestination(destinationId)) {
      this.deps.webinars.update(w.id, { destinationIds: w.destinationIds.filter((d) => d !== destinationId) });
      this.deps.webinars.setWarnings(w.id, [...w.warnings, `The destination "${name}" was deleted and removed from this webinar.`]);
    }
  }

  private validate(w: Omit<WebinarInput, 'roomId'>, selfId: string | null, checkStartInPast: boolean): void {
    const starts = Date.parse(w.startsAt);
    const ends = Date.parse(w.endsAt);
    if (!(ends > starts)) throw new AppError('SCHEDULE_INVALID', 'The end time must be after the start time.');
    if (ends - starts > MAX_DURATION_MS) throw new AppError('SCHEDULE_INVALID', 'A webinar can last at most 7 days.');
    if (starts > this.deps.clock.now() + MAX_AHEAD_MS) throw new AppError('SCHEDULE_INVALID', 'The start time is more than 5 years ahead.');
    if (checkStartInPast && starts < this.deps.clock.now() - START_SLACK_MS) {
      throw new AppError('SCHEDULE_INVALID', 'The start time is in the past.');
    }
    if (!isTimeZone(w.timeZone)) throw new AppError('SCHEDULE_INVALID', `"${w.timeZone}" is not a known time zone.`);
    for (const id of w.hostIds) {
      const user = this.deps.users.find(id);
      if (!user) throw new AppError('UNKNOWN_USER', `There is no user with id ${id} to host this webinar.`);
      if (user.disabled) throw new AppError('UNKNOWN_USER', `${user.name} is disabled and cannot host.`);
    }
    for (const id of w.destinationIds) {
      if (!this.deps.destinations.exists(id)) throw new AppError('UNKNOWN_DESTINATION', `There is no destination with id ${id}.`);
    }
    // One stream key cannot take two streams at once.
    const mine = new Map(w.destinationIds.map((id) => [this.deps.destinations.withKey(id).streamKey, id]));
    for (const other of this.deps.webinars.active()) {
      if (other.id === selfId) continue;
      const overlaps = Date.parse(other.startsAt) < ends && starts < Date.parse(other.endsAt);
      if (!overlaps) continue;
      for (const otherDest of other.destinationIds) {
        if (!this.deps.destinations.exists(otherDest)) continue;
        const theirs = this.deps.destinations.withKey(otherDest);
        const clash = mine.get(theirs.streamKey);
        if (clash !== undefined) {
          const name = this.deps.destinations.get(clash).name;
          throw new AppError(
            'STREAM_KEY_CONFLICT',
            `The stream key of "${name}" is also used by the webinar "${other.title}" (${other.startsAt} – ${other.endsAt}); a platform accepts only one stream per key at a time.`,
          );
        }
      }
    }
  }
}

const MAX_DURATION_MS = 7 * 24 * 3600_000;
const MAX_AHEAD_MS = 5 * 366 * 24 * 3600_000;

/**
 * A date-time from a request as a canonical UTC ISO string. The schema's `date-time` format lets
 * through strings that JavaScript's Date reads leniently (February 30 becomes March 2) or not at
 * all (an hour of 24, a leap second, years past ±275760), which once answered 500; Temporal's
 * strict RFC 3339 parser decides instead, and a refusal names the field in plain words.
 */
export function toInstant(field: string, value: string): string {
  try {
    return new Date(Temporal.Instant.from(value).epochMilliseconds).toISOString();
  } catch {
    throw new AppError('SCHEDULE_INVALID', `${field} is not a valid date and time (expected e.g. 2026-05-01T10:00:00Z).`);
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
