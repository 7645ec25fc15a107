import type { EventLink, EventPageInfo, EventPageState } from '@onair/shared';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tokens } from '../auth/tokens.js';
import { HLS_PLAYLIST, HLS_SEGMENT } from './hls.js';
import { AppError } from '../errors.js';
import type { EventPageRecord, EventPagesRepo } from '../persistence/eventPages.js';
import { isValidSlug, slugFromTitle } from './slug.js';
import { Viewers } from './Viewers.js';

/** What the page shows about its room: a webinar's title, description, start and status; a plain room's name. */
export interface EventDescription {
  title: string;
  description: string;
  startsAt: string | null;
  /** The webinar is over (ended, missed or cancelled). */
  over: boolean;
}

export interface EventPagesDeps {
  repo: EventPagesRepo;
  tokens: Tokens;
  publicUrl: string;
  /** The room's description, null when the room no longer exists. */
  describe: (roomId: string) => EventDescription | null;
  now?: () => number;
}

/** A file of a live page's HLS, ready to send. */
export type EventFile =
  | { kind: 'playlist'; body: string; contentType: string; cacheControl: string }
  | { kind: 'segment'; path: string; contentType: string; cacheControl: string };

export const DEFAULT_LINK_HOURS = 72;
const NOT_FOUND = 'There is no event at this address. Check the link you were given.';

/**
 * The OnAir event pages: each room's settings (slug, on/off, private), the HLS directory of the
 * room's live broadcast, the viewers, and who may watch (a private page needs a signed link).
 */
export class EventPages {
  readonly #deps: EventPagesDeps;
  readonly #live = new Map<string, string>();
  /** Rooms whose broadcast with an event page ended in this process (until the next one starts). */
  readonly #ended = new Set<string>();
  readonly viewers: Viewers;

  constructor(deps: EventPagesDeps) {
    this.#deps = deps;
    this.viewers = new Viewers(deps.now ? { now: deps.now } : {});
  }

  forRoom(roomId: string): EventPageRecord | null {
    return this.#deps.repo.forRoom(roomId);
  }

  /** The page's public address (a private page also needs a link's token). */
  url(slug: string): string {
    return `${this.#deps.publicUrl}/watch/${slug}`;
  }

  /**
   * Saves the room's page settings. A slug given is checked (format, not taken); without one the
   * page keeps its slug, or gets one made from `title`.
   */
  configure(roomId: string, settings: { enabled: boolean; private: boolean; slug?: string | undefined; title: string }): EventPageRecord {
    const current = this.#deps.repo.forRoom(roomId);
    if (settings.slug !== undefined) this.checkSlug(settings.slug, roomId);
    const slug = settings.slug ?? current?.slug ?? slugFromTitle(settings.title, (s) => this.#deps.repo.slugTaken(s, roomId));
    return this.#deps.repo.save({ roomId, slug, enabled: settings.enabled, private: settings.private });
  }

  /** Refuses, in plain words, a slug that is malformed or taken by another room's page. */
  checkSlug(slug: string, roomId: string | null): void {
    if (!isValidSlug(slug)) {
      throw new AppError('VALIDATION_FAILED', 'The event page address may use lower-case letters, digits and single hyphens (3 to 64 characters, no hyphen at either end).');
    }
    if (this.#deps.repo.slugTaken(slug, roomId ?? '')) throw new AppError('SLUG_TAKEN', `The address /watch/${slug} is already used by another event. Pick another one.`);
  }

  /** Whether the room's next broadcast publishes to its page: its setting, or `requested` (Go live), which turns it on. */
  wanted(roomId: string, title: string, requested: boolean | undefined): EventPageRecord | null {
    const page = this.#deps.repo.forRoom(roomId);
    if (requested && !page?.enabled) return this.configure(roomId, { enabled: true, private: page?.private ?? false, title });
    return page?.enabled ? page : null;
  }

  /** The room's broadcast writes the page's HLS into `dir` now. */
  attach(roomId: string, dir: string): void {
    this.#ended.delete(roomId);
    this.#live.set(roomId, dir);
  }

  /** The room's broadcast ended: the page says so. */
  detach(roomId: string): void {
    if (!this.#live.delete(roomId)) return;
    this.#ended.add(roomId);
  }

  /** A new signed link to the room's page, valid for `hours`; every earlier link stops working. */
  newLink(roomId: string, hours = DEFAULT_LINK_HOURS): EventLink {
    const page = this.#deps.repo.forRoom(roomId);
    if (!page) throw new AppError('EVENT_NOT_FOUND', 'This webinar has no event page yet: turn the event page on first.');
    const ver = this.#deps.repo.bumpTokenVersion(roomId);
    const token = this.#deps.tokens.sign({ typ: 'watch', room: roomId, ver }, hours * 3600);
    const expiresAt = new Date((this.#deps.now?.() ?? Date.now()) + hours * 3600_000).toISOString();
    return { url: `${this.url(page.slug)}?token=${encodeURIComponent(token)}`, expiresAt };
  }

  /** What a viewer's page shows; a poll with a viewer id counts that page as open. */
  info(slug: string, query: { viewer?: string | undefined; token?: string | undefined }): EventPageInfo {
    const { page, description } = this.#open(slug, query.token);
    const state = this.#state(page.roomId, description);
    if (query.viewer && state !== 'ended') this.viewers.seen(page.roomId, query.viewer);
    const token = page.private && query.token ? `?token=${encodeURIComponent(query.token)}` : '';
    return {
      slug: page.slug,
      title: description.title,
      description: description.description,
      startsAt: description.startsAt,
      state,
      viewers: this.viewers.count(page.roomId),
      playlistUrl: state === 'live' ? `/api/watch/${page.slug}/hls/${HLS_PLAYLIST}${token}` : null,
    };
  }

  /**
   * A file of the page's live HLS: the playlist (for a private page with the token added to each
   * segment's address, since a player fetches them without it) or a segment.
   */
  async file(slug: string, file: string, token: string | undefined): Promise<EventFile> {
    const { page } = this.#open(slug, token);
    const dir = this.#live.get(page.roomId);
    const segment = HLS_SEGMENT.test(file);
    if (!dir || (file !== HLS_PLAYLIST && !segment)) throw new AppError('NOT_FOUND', 'This part of the broadcast is not available (it is over or has not started).');
    const path = join(dir, file);
    const scope = page.private ? 'private' : 'public';
    if (segment) {
      if (!existsSync(path)) throw new AppError('NOT_FOUND', 'This part of the broadcast is no longer available.');
      // A segment never changes once written (ffmpeg writes it aside and renames it).
      return { kind: 'segment', path, contentType: 'video/mp2t', cacheControl: `${scope}, max-age=60, immutable` };
    }
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) throw new AppError('NOT_FOUND', 'The broadcast has not started yet.');
    const suffix = page.private && token ? `?token=${encodeURIComponent(token)}` : '';
    const body = suffix ? text.replace(/^(?!#)(\S+)$/gm, `$1${suffix}`) : text;
    // A live playlist changes with every segment: always ask again.
    return { kind: 'playlist', body, contentType: 'application/vnd.apple.mpegurl', cacheControl: 'no-cache' };
  }

  /** The page and its description, once the caller may see it (a private one needs a valid link). */
  #open(slug: string, token: string | undefined): { page: EventPageRecord; description: EventDescription } {
    const page = isValidSlug(slug) ? this.#deps.repo.bySlug(slug) : null;
    const description = page ? this.#deps.describe(page.roomId) : null;
    if (!page || !description || (!page.enabled && !this.#live.has(page.roomId))) throw new AppError('EVENT_NOT_FOUND', NOT_FOUND);
    if (page.private) {
      if (!token) throw new AppError('EVENT_PRIVATE', 'This event is private: open it with the link the organiser sent you.');
      this.#deps.tokens.verifyWatch(token, page.roomId, page.tokenVersion);
    }
    return { page, description };
  }

  #state(roomId: string, description: EventDescription): EventPageState {
    const dir = this.#live.get(roomId);
    if (dir) return existsSync(join(dir, HLS_PLAYLIST)) ? 'live' : 'soon';
    if (description.over || this.#ended.has(roomId)) return 'ended';
    return 'soon';
  }
}
