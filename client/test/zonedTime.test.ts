import { describe, expect, it } from 'vitest';
import { formatDuration, isoToWallClock, wallClockToIso, zoneOffsetMs } from '../src/dashboard/admin/zonedTime';

describe('wallClockToIso: a wall-clock time in a zone → the instant', () => {
  it.each([
    // zone, wall clock, instant, why
    ['UTC', '2026-05-01T10:00', '2026-05-01T10:00:00.000Z', 'no offset'],
    ['Asia/Kolkata', '2026-05-01T10:00', '2026-05-01T04:30:00.000Z', 'a half-hour offset, no DST'],
    ['Europe/Paris', '2026-01-15T09:00', '2026-01-15T08:00:00.000Z', 'winter, +01:00'],
    ['Europe/Paris', '2026-07-15T09:00', '2026-07-15T07:00:00.000Z', 'summer, +02:00'],
    ['Europe/Paris', '2026-03-29T02:30', '2026-03-29T01:30:00.000Z', 'in the spring-forward gap: moved forward to 03:30'],
    ['Europe/Paris', '2026-10-25T02:30', '2026-10-25T00:30:00.000Z', 'occurs twice in autumn: the earlier one'],
    ['America/New_York', '2026-03-08T02:30', '2026-03-08T07:30:00.000Z', 'in the spring-forward gap: 03:30 EDT'],
    ['America/New_York', '2026-11-01T01:30', '2026-11-01T05:30:00.000Z', 'occurs twice: the earlier (EDT) one'],
    ['America/New_York', '2026-11-01T02:30', '2026-11-01T07:30:00.000Z', 'after the fall-back hour, EST'],
    ['Australia/Sydney', '2026-04-05T02:30', '2026-04-04T15:30:00.000Z', 'southern autumn, occurs twice: the earlier (AEDT) one'],
    ['Australia/Sydney', '2026-10-04T02:30', '2026-10-03T16:30:00.000Z', 'southern spring gap: 03:30 AEDT'],
    ['Europe/Paris', '2026-05-01T10:00:30', '2026-05-01T08:00:30.000Z', 'with seconds'],
  ])('%s %s → %s (%s)', (zone, local, instant) => {
    expect(wallClockToIso(local, zone)).toBe(instant);
  });

  it.each(['', 'tomorrow', '2026-02-30T10:00', '2026-13-01T10:00', '2026-05-01T24:00', '2026-05-01 10:00'])('%j is not a date → null', (local) => {
    expect(wallClockToIso(local, 'Europe/Paris')).toBeNull();
  });
});

describe('isoToWallClock: an instant → the wall clock of a zone', () => {
  it.each([
    ['2026-03-29T01:30:00.000Z', 'Europe/Paris', '2026-03-29T03:30'],
    ['2026-10-25T00:30:00.000Z', 'Europe/Paris', '2026-10-25T02:30'],
    ['2026-10-25T01:30:00.000Z', 'Europe/Paris', '2026-10-25T02:30'],
    ['2026-11-01T06:30:00.000Z', 'America/New_York', '2026-11-01T01:30'],
    ['2026-04-04T16:30:00.000Z', 'Australia/Sydney', '2026-04-05T02:30'],
    ['2026-05-01T08:00:30.000Z', 'Europe/Paris', '2026-05-01T10:00:30'],
  ])('%s in %s → %s', (iso, zone, wall) => {
    expect(isoToWallClock(iso, zone)).toBe(wall);
  });

  it('round-trips across a year in three zones, every quarter hour around each DST change', () => {
    const changes: Record<string, string[]> = {
      'Europe/Paris': ['2026-03-29', '2026-10-25'],
      'America/New_York': ['2026-03-08', '2026-11-01'],
      'Australia/Sydney': ['2026-04-05', '2026-10-04'],
    };
    for (const [zone, days] of Object.entries(changes)) {
      const instants: number[] = [];
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 13 * 3600_000) instants.push(t);
      for (const day of days) {
        const around = Date.parse(`${day}T00:00:00Z`);
        for (let t = around - 86_400_000; t < around + 86_400_000; t += 15 * 60_000) instants.push(t);
      }
      for (const t of instants) {
        const iso = new Date(t).toISOString();
        const back = wallClockToIso(isoToWallClock(iso, zone), zone);
        // A wall-clock time that occurs twice maps back to the earlier instant, one hour before.
        expect([iso, new Date(t - 3600_000).toISOString()]).toContain(back);
      }
    }
  });

  it('an unreadable instant gives an empty field', () => {
    expect(isoToWallClock('not a date', 'UTC')).toBe('');
  });
});

describe('zoneOffsetMs and formatDuration', () => {
  it('reads the offset in force at an instant', () => {
    expect(zoneOffsetMs('Europe/Paris', Date.UTC(2026, 0, 15))).toBe(3600_000);
    expect(zoneOffsetMs('Europe/Paris', Date.UTC(2026, 6, 15))).toBe(7200_000);
    expect(zoneOffsetMs('America/New_York', Date.UTC(2026, 6, 15))).toBe(-4 * 3600_000);
  });

  it.each([
    [42, '42 s'],
    [60, '1 min'],
    [3725, '1 h 2 min'],
    [7200, '2 h'],
    [-5, '0 s'],
  ])('%d s → %s', (seconds, words) => {
    expect(formatDuration(seconds)).toBe(words);
  });
});
