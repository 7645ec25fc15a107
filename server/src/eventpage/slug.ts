import { EVENT_SLUG_PATTERN } from '@onair/shared';
import slugify from 'slugify';

const SLUG = new RegExp(EVENT_SLUG_PATTERN);
const MAX = 64;

/** Whether `slug` is a valid event page address (lower-case letters, digits, single inner hyphens, 3–64). */
export function isValidSlug(slug: string): boolean {
  return SLUG.test(slug);
}

/**
 * The address made from a title: transliterated, lower case, words joined by single hyphens, cut at
 * a word boundary to fit; a title with no letters or digits left (e.g. only CJK or emoji) gives
 * "event". Then `-2`, `-3`, … until `taken` says no.
 */
export function slugFromTitle(title: string, taken: (slug: string) => boolean): string {
  let base = slugify(title, { lower: true, strict: true, trim: true }).replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (base.length > MAX - 4) base = base.slice(0, MAX - 4).replace(/-[^-]*$/, '') || base.slice(0, MAX - 4);
  base = base.replace(/-$/, '');
  if (base.length < 3) base = base ? `event-${base}` : 'event';
  if (!taken(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken(candidate)) return candidate;
  }
}
