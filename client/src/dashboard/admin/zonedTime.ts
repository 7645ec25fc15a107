/**
 * Wall-clock time in a named IANA zone ⇄ instants, by Temporal (temporal-polyfill), which owns the
 * zone rules and the DST disambiguation instead of hand-written offset arithmetic.
 *
 * The form shows `<input type="datetime-local">` (a zone-less "YYYY-MM-DDTHH:mm") next to a
 * time-zone select; the API wants an ISO instant. Converting through the browser's own zone would
 * be wrong whenever the two zones differ, so every conversion names the chosen zone.
 */
import { Temporal } from 'temporal-polyfill';

/** Offset of `timeZone` from UTC at `epochMs`, in ms (e.g. +3 600 000 for Paris in winter). */
export function zoneOffsetMs(timeZone: string, epochMs: number): number {
  return Temporal.Instant.fromEpochMilliseconds(Math.floor(epochMs)).toZonedDateTimeISO(timeZone).offsetNanoseconds / 1e6;
}

/**
 * "2025-03-30T02:30" in "Europe/Paris" → the ISO instant, or null when the text is not a date.
 *
 * DST uses Temporal's 'compatible' disambiguation: a time that occurs twice (clocks go back) means
 * the earlier instant; a time that does not exist (clocks go forward) moves forward by the size of
 * the gap (02:30 → 03:30).
 */
export function wallClockToIso(local: string, timeZone: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return null;
  try {
    const instant = Temporal.PlainDateTime.from(local, { overflow: 'reject' }).toZonedDateTime(timeZone, { disambiguation: 'compatible' }).toInstant();
    return new Date(instant.epochMilliseconds).toISOString();
  } catch {
    return null;
  }
}

/**
 * An instant → "YYYY-MM-DDTHH:mm" on the wall clock of `timeZone` (for datetime-local inputs), with
 * ":ss" only when the seconds are not zero, as the input itself writes it.
 */
export function isoToWallClock(iso: string, timeZone: string): string {
  let wall: Temporal.PlainDateTime;
  try {
    wall = Temporal.Instant.from(iso).toZonedDateTimeISO(timeZone).toPlainDateTime();
  } catch {
    return '';
  }
  return wall.toString({ smallestUnit: wall.second === 0 ? 'minute' : 'second' });
}

/** True when Intl knows the zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The browser's own zone, UTC when it cannot tell. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const COMMON_ZONES = [
  'UTC',
  'Europe/London',
  'Europe/Dublin',
  'Europe/Lisbon',
  'Europe/Paris',
  'Europe/Berlin',
  'Europe/Madrid',
  'Europe/Rome',
  'Europe/Amsterdam',
  'Europe/Stockholm',
  'Europe/Warsaw',
  'Europe/Athens',
  'Europe/Helsinki',
  'Europe/Istanbul',
  'Europe/Moscow',
  'Africa/Cairo',
  'Africa/Johannesburg',
  'Africa/Lagos',
  'Africa/Nairobi',
  'Asia/Dubai',
  'Asia/Karachi',
  'Asia/Kolkata',
  'Asia/Dhaka',
  'Asia/Bangkok',
  'Asia/Jakarta',
  'Asia/Singapore',
  'Asia/Hong_Kong',
  'Asia/Shanghai',
  'Asia/Seoul',
  'Asia/Tokyo',
  'Australia/Perth',
  'Australia/Adelaide',
  'Australia/Brisbane',
  'Australia/Sydney',
  'Pacific/Auckland',
  'Pacific/Honolulu',
  'America/Anchorage',
  'America/Los_Angeles',
  'America/Denver',
  'America/Phoenix',
  'America/Chicago',
  'America/Mexico_City',
  'America/New_York',
  'America/Toronto',
  'America/Bogota',
  'America/Lima',
  'America/Santiago',
  'America/Sao_Paulo',
  'America/Argentina/Buenos_Aires',
];

/**
 * Zones for the select: every zone the browser knows (UTC first), or a list of common ones on
 * browsers without Intl.supportedValuesOf. `extra` (the browser's zone, a saved webinar's zone) is
 * always included.
 */
export function timeZoneOptions(...extra: string[]): string[] {
  let all: string[] = COMMON_ZONES;
  try {
    const supported = Intl.supportedValuesOf('timeZone');
    if (supported.length > 0) all = supported;
  } catch {
    // older engine: the common list
  }
  const set = new Set<string>(['UTC', ...all, ...extra.filter((z) => z && isTimeZone(z))]);
  const rest = [...set].filter((z) => z !== 'UTC').sort();
  return ['UTC', ...rest];
}

const displayFormatters = new Map<string, Intl.DateTimeFormat>();

/** "Tue, 4 Mar 2025, 14:00 CET" in the given zone (the browser's locale decides the order). */
export function formatInZone(iso: string | null, timeZone: string): string {
  if (!iso) return '—';
  const epochMs = Date.parse(iso);
  if (Number.isNaN(epochMs)) return '—';
  const zone = isTimeZone(timeZone) ? timeZone : 'UTC';
  let f = displayFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, {
      timeZone: zone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    });
    displayFormatters.set(zone, f);
  }
  return f.format(new Date(epochMs));
}

/** "14:00–15:30" style end time: only the time when it is the same day in that zone. */
export function formatEndInZone(startIso: string, endIso: string, timeZone: string): string {
  const zone = isTimeZone(timeZone) ? timeZone : 'UTC';
  if (isoToWallClock(startIso, zone).slice(0, 10) !== isoToWallClock(endIso, zone).slice(0, 10)) return formatInZone(endIso, zone);
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: '2-digit', minute: '2-digit' }).format(new Date(endIso));
}

/** 3725 → "1 h 2 min"; 42 → "42 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h === 0) return `${m} min ${s % 60 > 0 ? `${s % 60} s` : ''}`.trim();
  return m > 0 ? `${h} h ${m} min` : `${h} h`;
}
