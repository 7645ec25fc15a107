/** A page that has not polled for this long is no longer counted (pages poll every 5 s). */
export const VIEWER_TTL_MS = 15_000;
/** Most viewers tracked per page; beyond it new ids are not added (the count stays at the cap). */
const MAX_PER_PAGE = 100_000;

/**
 * Open event pages, counted by the random id each page keeps across reloads and reconnects (so a
 * viewer whose page polls again, or reloads, is counted once), forgotten VIEWER_TTL_MS after their
 * last poll.
 */
export class Viewers {
  readonly #now: () => number;
  readonly #byRoom = new Map<string, Map<string, number>>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? (() => Date.now());
  }

  seen(roomId: string, viewerId: string): void {
    let viewers = this.#byRoom.get(roomId);
    if (!viewers) {
      viewers = new Map();
      this.#byRoom.set(roomId, viewers);
    }
    if (viewers.has(viewerId) || viewers.size < MAX_PER_PAGE) {
      viewers.delete(viewerId);
      viewers.set(viewerId, this.#now());
    }
  }

  count(roomId: string): number {
    const viewers = this.#byRoom.get(roomId);
    if (!viewers) return 0;
    const cutoff = this.#now() - VIEWER_TTL_MS;
    // Insertion order is last-seen order (seen() re-inserts), so the stale ones come first.
    for (const [id, at] of viewers) {
      if (at >= cutoff) break;
      viewers.delete(id);
    }
    if (viewers.size === 0) this.#byRoom.delete(roomId);
    return viewers.size;
  }
}
