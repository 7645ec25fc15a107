import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probeStream } from '../../../e2e/fixtures/ffprobe.js';
import { isValidSlug, slugFromTitle } from '../../src/eventpage/slug.js';
import { Viewers, VIEWER_TTL_MS } from '../../src/eventpage/Viewers.js';
import { redactUrl } from '../../src/logger.js';
import { auth, startServer, type TestServer } from '../helpers.js';

describe('event page rules (pure)', () => {
  it('a slug is lower-case letters, digits and single inner hyphens, 3–64 characters', () => {
    const cases: Array<[string, boolean]> = [
      ['town-hall-2026', true],
      ['abc', true],
      ['a'.repeat(64), true],
      ['ab', false],
      ['a'.repeat(65), false],
      ['Town-Hall', false],
      ['-town', false],
      ['town-', false],
      ['town--hall', false],
      ['town_hall', false],
      ['town hall', false],
      ['../etc', false],
      ['émission', false],
    ];
    for (const [slug, valid] of cases) assert.equal(isValidSlug(slug), valid, slug);
  });

  it('a slug made from a title is transliterated, hyphenated, fits, and is unique (-2, -3, …)', () => {
    const none = (): boolean => false;
    const cases: Array<[string, string]> = [
      ['Town Hall: Q&A — 2026!', 'town-hall-qanda-2026'],
      ['  Ünïcode   Café  ', 'unicode-cafe'],
      ['日本語', 'event'],
      ['AI', 'event-ai'],
      ['Word '.repeat(30), `${'word-'.repeat(11)}word`],
    ];
    for (const [title, slug] of cases) {
      const made = slugFromTitle(title, none);
      assert.equal(made, slug, title);
      assert.ok(isValidSlug(made), made);
    }
    const taken = new Set(['town-hall', 'town-hall-2']);
    assert.equal(slugFromTitle('Town Hall', (s) => taken.has(s)), 'town-hall-3');
  });

  it('link tokens are redacted from logged request URLs', () => {
    const cases: Array<[string, string]> = [
      ['/api/watch/launch?viewer=abcdefgh&token=eyJ.secret.sig', '/api/watch/launch?viewer=abcdefgh&token=[redacted]'],
      ['/api/watch/launch/hls/seg-00001.ts?token=eyJ.secret.sig', '/api/watch/launch/hls/seg-00001.ts?token=[redacted]'],
      ['/join/r1?invite=eyJ.x.y#top', '/join/r1?invite=[redacted]#top'],
      ['/api/watch/launch?viewer=abcdefgh', '/api/watch/launch?viewer=abcdefgh'],
    ];
    for (const [url, logged] of cases) assert.equal(redactUrl(url), logged);
  });

  it('viewers: a page that polls again (or reloads with its id) counts once; a page gone quiet stops counting', () => {
    let now = 0;
    const viewers = new Viewers({ now: () => now });
    viewers.seen('r1', 'viewer-aaaa');
    viewers.seen('r1', 'viewer-aaaa');
    viewers.seen('r1', 'viewer-bbbb');
    viewers.seen('r2', 'viewer-cccc');
    assert.equal(viewers.count('r1'), 2);
    now = VIEWER_TTL_MS - 1000;
    viewers.seen('r1', 'viewer-bbbb');
    now = VIEWER_TTL_MS + 1;
    assert.equal(viewers.count('r1'), 1, 'aaaa went quiet; bbbb polled again');
    assert.equal(viewers.count('r2'), 0);
  });
});

/** The pid of the ffmpeg remuxing into `dir` (read from /proc), or null. */
function hlsRemuxPid(dir: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('hls') && args.some((a) => a.startsWith(dir))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('event page of a webinar: HLS of the same encode, served by OnAir (real mediasoup, real ffmpeg)', () => {
  let server: TestServer;
  let hostToken: string;
  before(async () => {
    server = await startServer({}, undefined, { schedulerIntervalMs: 0 });
    const host = await server.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: auth(server.adminToken),
      payload: { email: 'host@test.local', name: 'Host', password: 'host password 1', role: 'host' },
    });
    assert.equal(host.statusCode, 201, host.body);
    hostToken = (await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'host@test.local', password: 'host password 1' } })).json().token;
  });
  after(async () => server.close());

  const api = (method: string, url: string, payload?: object, token: string | null = server.adminToken) =>
    server.app.inject({ method: method as 'GET', url, headers: token ? auth(token) : {}, ...(payload ? { payload } : {}) });
  const webinar = async (title: string, extra: Record<string, unknown> = {}) => {
    const res = await api('POST', '/api/webinars', {
      title,
      description: 'All hands, with questions.',
      startsAt: new Date(Date.now()).toISOString(),
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
      timeZone: 'Europe/Paris',
      destinationIds: [],
      ...extra,
    });
    return res;
  };

  it('slugs: made from the title and unique; an explicit one is checked (taken → 409, malformed → 400, in plain words); no such event → 404', async () => {
    const a = await webinar('Quarterly Update', { autoStart: false });
    assert.equal(a.statusCode, 201, a.body);
    assert.equal(a.json().eventSlug, 'quarterly-update');
    assert.equal(a.json().eventPage, false);
    assert.equal(a.json().eventUrl.endsWith('/watch/quarterly-update'), true);
    const b = await webinar('Quarterly update', { autoStart: false });
    assert.equal(b.json().eventSlug, 'quarterly-update-2');
    const taken = await webinar('Other', { autoStart: false, eventSlug: 'quarterly-update' });
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().error.code, 'SLUG_TAKEN');
    assert.match(taken.json().error.message, /already used by another event/);
    const bad = await api('PATCH', `/api/webinars/${b.json().id}`, { eventSlug: 'Has Spaces' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /eventSlug/);
    const renamed = await api('PATCH', `/api/webinars/${b.json().id}`, { eventSlug: 'q-update', eventPage: true });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().eventSlug, 'q-update');
    const page = await api('GET', '/api/watch/q-update', undefined, null);
    assert.equal(page.statusCode, 200, page.body);
    assert.deepEqual({ ...(page.json() as object), startsAt: null }, { slug: 'q-update', title: 'Quarterly update', description: 'All hands, with questions.', startsAt: null, state: 'soon', viewers: 0, playlistUrl: null });
    // A page that is off is no page at all.
    const off = await api('GET', '/api/watch/quarterly-update', undefined, null);
    assert.equal(off.statusCode, 404);
    for (const url of ['/api/watch/nothing-here', '/api/watch/..%2F..%2Fetc', '/api/watch/q-update/hls/index.m3u8', '/api/watch/q-update/hls/..%2Fonair.db']) {
      const res = await api('GET', url, undefined, null);
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.ok(['EVENT_NOT_FOUND', 'NOT_FOUND'].includes(res.json().error.code), url);
    }
    assert.match((await api('GET', '/api/watch/nothing-here', undefined, null)).json().error.message, /There is no event at this address/);
    const badViewer = await api('GET', '/api/watch/q-update?viewer=%3Cscript%3E', undefined, null);
    assert.equal(badViewer.statusCode, 400);
  });

  it('private: no link → 401 in plain words; a forged, an expired or a replaced link → refused; the new link works; only admins make links', async () => {
    const w = await webinar('Board meeting', { autoStart: false, eventPage: true, eventPrivate: true });
    assert.equal(w.statusCode, 201, w.body);
    const slug: string = w.json().eventSlug;
    const none = await api('GET', `/api/watch/${slug}`, undefined, null);
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'EVENT_PRIVATE');
    assert.match(none.json().error.message, /private/);
    assert.equal((await api('POST', `/api/webinars/${w.json().id}/event-link`, {}, null)).statusCode, 401);
    assert.equal((await api('POST', `/api/webinars/${w.json().id}/event-link`, {}, hostToken)).statusCode, 403);
    assert.equal((await api('POST', `/api/webinars/${w.json().id}/event-link`, { expiresInHours: 0 })).statusCode, 400);
    assert.equal((await api('POST', '/api/webinars/wnope/event-link', {})).statusCode, 404);

    const first = await api('POST', `/api/webinars/${w.json().id}/event-link`, { expiresInHours: 24 });
    assert.equal(first.statusCode, 200, first.body);
    const firstToken = new URL(first.json().url).searchParams.get('token') ?? '';
    assert.ok(Date.parse(first.json().expiresAt) > Date.now() + 23 * 3600_000);
    const ok = await api('GET', `/api/watch/${slug}?token=${encodeURIComponent(firstToken)}`, undefined, null);
    assert.equal(ok.statusCode, 200, ok.body);

    const forged = `${firstToken.slice(0, -4)}AAAA`;
    const refusedForged = await api('GET', `/api/watch/${slug}?token=${encodeURIComponent(forged)}`, undefined, null);
    assert.equal(refusedForged.json().error.code, 'EVENT_LINK_INVALID');
    assert.match(refusedForged.json().error.message, /not valid/);

    const second = await api('POST', `/api/webinars/${w.json().id}/event-link`, {});
    const secondToken = new URL(second.json().url).searchParams.get('token') ?? '';
    const replaced = await api('GET', `/api/watch/${slug}?token=${encodeURIComponent(firstToken)}`, undefined, null);
    assert.equal(replaced.statusCode, 401);
    assert.equal(replaced.json().error.code, 'EVENT_LINK_INVALID', 'a new link revokes the earlier one');
    assert.equal((await api('GET', `/api/watch/${slug}?token=${encodeURIComponent(secondToken)}`, undefined, null)).statusCode, 200);

    // A link for another page is refused like a forged one.
    const other = await webinar('Other board', { autoStart: false, eventPage: true, eventPrivate: true });
    const otherLink = await api('POST', `/api/webinars/${other.json().id}/event-link`, {});
    const otherToken = new URL(otherLink.json().url).searchParams.get('token') ?? '';
    assert.equal((await api('GET', `/api/watch/${slug}?token=${encodeURIComponent(otherToken)}`, undefined, null)).json().error.code, 'EVENT_LINK_INVALID');

    const page = server.app.eventPages.forRoom(w.json().roomId);
    const expiring = server.app.tokens.sign({ typ: 'watch', room: w.json().roomId, ver: page?.tokenVersion ?? -1 }, 1);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await api('GET', `/api/watch/${slug}?token=${encodeURIComponent(expiring)}`, undefined, null);
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().error.code, 'EVENT_LINK_EXPIRED');
    assert.match(expired.json().error.message, /expired/);
  });

  it('live: the playlist and 2 s segments are served with their content types and cache headers and ffprobe reads H.264 + AAC; viewers count once each; a killed remux restarts and the playlist goes on; Stop → "ended" and the segments are gone', async () => {
    const w = await webinar('Launch day', { eventPage: true });
    assert.equal(w.statusCode, 201, w.body);
    const slug: string = w.json().eventSlug;
    await server.app.scheduler.tick();
    const info = await waitFor('the page to be live', async () => {
      const res = await api('GET', `/api/watch/${slug}?viewer=viewer-one-1`, undefined, null);
      return res.json().state === 'live' ? res : null;
    });
    assert.equal(info.headers['cache-control'], 'no-store');
    const playlistUrl: string = info.json().playlistUrl;
    assert.equal(playlistUrl, `/api/watch/${slug}/hls/index.m3u8`);
    const playlist = await waitFor('a segment in the playlist', async () => {
      const res = await api('GET', playlistUrl, undefined, null);
      return res.body.includes('.ts') ? res : null;
    });
    assert.equal(playlist.headers['content-type'], 'application/vnd.apple.mpegurl');
    assert.equal(playlist.headers['cache-control'], 'no-cache');
    const durations = [...playlist.body.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(durations.every((d) => d > 1.5 && d < 2.5), `segments follow the 2 s keyframes: ${durations.join(', ')}`);
    const segment = playlist.body.split('\n').find((l) => l.endsWith('.ts')) ?? '';
    const segmentRes = await api('GET', `/api/watch/${slug}/hls/${segment}`, undefined, null);
    assert.equal(segmentRes.statusCode, 200);
    assert.equal(segmentRes.headers['content-type'], 'video/mp2t');
    assert.match(String(segmentRes.headers['cache-control']), /^public, max-age=\d+, immutable$/);
    const probed = await probeStream(`${server.url}${playlistUrl}`, 3);
    assert.equal(probed.video?.codec, 'h264');
    assert.equal(probed.video?.width, 1280);
    assert.equal(probed.audio?.codec, 'aac');

    await api('GET', `/api/watch/${slug}?viewer=viewer-one-1`, undefined, null);
    const two = await api('GET', `/api/watch/${slug}?viewer=viewer-two-2`, undefined, null);
    assert.equal(two.json().viewers, 2, 'the first viewer polled three times and counts once');
    assert.equal(server.app.broadcasts.liveStatus(w.json().roomId)?.eventPage?.viewers, 2, 'the Go live panel sees the count');

    const dir = join(server.dataDir, 'hls');
    assert.equal(readdirSync(dir).length, 1);

    // The remux dying (killed here) is started again and the same playlist goes on.
    const lastSegment = async (): Promise<number> => {
      const text = (await api('GET', playlistUrl, undefined, null)).body;
      return Math.max(-1, ...[...text.matchAll(/seg-(\d+)\.ts/g)].map((m) => Number(m[1])));
    };
    const before = await lastSegment();
    const remux = hlsRemuxPid(join(dir, readdirSync(dir)[0]!));
    assert.ok(remux, 'the event page has its own ffmpeg');
    process.kill(remux, 'SIGKILL');
    await waitFor('a new ffmpeg', async () => {
      const pid = hlsRemuxPid(join(dir, readdirSync(dir)[0]!));
      return pid && pid !== remux ? pid : null;
    });
    await waitFor('new segments after the restart', async () => ((await lastSegment()) >= before + 2 ? true : null));
    assert.equal((await api('GET', `/api/watch/${slug}`, undefined, null)).json().state, 'live');

    await api('POST', `/api/webinars/${w.json().id}/cancel`);
    const ended = await api('GET', `/api/watch/${slug}`, undefined, null);
    assert.equal(ended.json().state, 'ended');
    assert.equal(ended.json().playlistUrl, null);
    assert.equal((await api('GET', playlistUrl, undefined, null)).statusCode, 404);
    assert.deepEqual(readdirSync(dir), [], 'the segments of a broadcast without recording are removed');
  });

  it('a plain room goes live to its event page alone from Go live (no destination at all is refused); recording on keeps its segments and the finished playlist', async () => {
    const room = (await api('POST', '/api/rooms', { name: 'Open studio' })).json();
    const entry = await server.app.registry.open(room.id, room.name);
    entry.hold(); // nobody joins this room: keep it open
    await assert.rejects(server.app.broadcasts.start(entry, null, { destinationIds: [] }), (e: Error & { code?: string }) => e.code === 'VALIDATION_FAILED' && /would go nowhere/.test(e.message));
    assert.equal(server.app.broadcasts.isLive(room.id), false, 'nothing started');
    const started = await server.app.broadcasts.start(entry, null, { destinationIds: [], eventPage: true, record: true });
    const slug = started.broadcast.eventPage?.url.split('/watch/')[1] ?? '';
    assert.equal(slug, 'open-studio');
    await waitFor('the page to be live', async () => ((await api('GET', `/api/watch/${slug}`, undefined, null)).json().state === 'live' ? true : null));
    const dir = join(server.dataDir, 'hls', started.broadcast.id);
    await waitFor('a segment', async () => (readdirSync(dir).some((f) => f.endsWith('.ts')) ? true : null));
    await server.app.broadcasts.stop(entry, null);
    entry.release();
    assert.equal((await api('GET', `/api/watch/${slug}`, undefined, null)).json().state, 'ended');
    assert.ok(existsSync(join(dir, 'index.m3u8')));
    assert.match(await import('node:fs/promises').then((fs) => fs.readFile(join(dir, 'index.m3u8'), 'utf8')), /#EXT-X-ENDLIST/);

    // At start (nothing is live then), what a crash left of an unrecorded broadcast goes; a recorded one's stays.
    const orphan = join(server.dataDir, 'hls', 'bcrashed');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'seg-00001.ts'), 'x');
    server.app.broadcasts.sweepEventPageSegments();
    assert.equal(existsSync(orphan), false);
    assert.ok(existsSync(join(dir, 'index.m3u8')));
  });

  it('an event page that cannot write its segments stays off; the broadcast and its destination go on', async () => {
    const hls = join(server.dataDir, 'hls');
    renameSync(hls, `${hls}.aside`);
    writeFileSync(hls, 'not a directory');
    try {
      const room = (await api('POST', '/api/rooms', { name: 'Read only studio' })).json();
      const entry = await server.app.registry.open(room.id, room.name);
      entry.hold();
      const started = await server.app.broadcasts.start(entry, null, { destinationIds: [], eventPage: true, record: true });
      assert.equal(started.broadcast.state, 'live');
      assert.equal(started.broadcast.eventPage, undefined, 'no event page is announced');
      assert.equal((await api('GET', '/api/watch/read-only-studio', undefined, null)).json().state, 'soon');
      await server.app.broadcasts.stop(entry, null);
      entry.release();
    } finally {
      rmSync(hls, { force: true });
      renameSync(`${hls}.aside`, hls);
    }
  });
});
