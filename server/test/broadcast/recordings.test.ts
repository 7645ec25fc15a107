import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { BroadcastRecord, BroadcastStatus, Recording } from '@onair/shared';
import { startRtmpServer, type RtmpServer } from '../../../e2e/fixtures/rtmpServer.js';
import { resolveFfmpegPath, resolveFfprobePath } from '../../src/media/ffmpegPath.js';
import { newId } from '../../src/persistence/db.js';
import { auth, createRoom, guestToken, SignalClient, startServer, type TestServer } from '../helpers.js';

const run = promisify(execFile);

/** What ffprobe reads from a file: its container and length. */
async function probeFile(path: string): Promise<{ formatName: string; duration: number; streams: string[] }> {
  const { stdout } = await run(resolveFfprobePath(), ['-v', 'error', '-of', 'json', '-show_entries', 'format=format_name,duration:stream=codec_name', path]);
  const parsed = JSON.parse(stdout) as { format: { format_name: string; duration: string }; streams: Array<{ codec_name: string }> };
  return { formatName: parsed.format.format_name, duration: Number(parsed.format.duration), streams: parsed.streams.map((s) => s.codec_name).sort() };
}

/** What ffprobe reads of a file's video: its size and the seconds between keyframes. */
async function probeVideo(path: string): Promise<{ width: number; height: number; keyframeGaps: number[] }> {
  const { stdout } = await run(resolveFfprobePath(), [
    '-v', 'error', '-select_streams', 'v:0', '-of', 'json', '-show_entries', 'stream=width,height:packet=pts_time,flags', path,
  ]);
  const parsed = JSON.parse(stdout) as { streams: Array<{ width: number; height: number }>; packets: Array<{ pts_time: string; flags: string }> };
  const keyframes = parsed.packets.filter((p) => p.flags.startsWith('K')).map((p) => Number(p.pts_time));
  const gaps = keyframes.slice(1).map((t, i) => Math.round((t - keyframes[i]!) * 100) / 100);
  return { width: parsed.streams[0]!.width, height: parsed.streams[0]!.height, keyframeGaps: gaps };
}

/** A few seconds of real H.264 + AAC in FLV, as the recording sink writes it. */
async function makeFlv(path: string, seconds: number): Promise<void> {
  await run(resolveFfmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-c:a', 'aac', '-f', 'flv', path,
  ]);
}

describe('recordings: remuxed to MP4 when the broadcast ends, downloaded with ranges by its hosts, deleted by admins (real ffmpeg, real nginx RTMP)', () => {
  let server: TestServer;
  let rtmp: RtmpServer;
  let destinationId: string;
  let hostToken: string;
  let otherHostToken: string;
  let roomId: string;
  let invite: string;
  let recording: Recording;
  let broadcastSeconds: number;

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, token?: string, headers: Record<string, string> = {}) =>
    server.app.inject({ method, url, headers: { ...(token ? auth(token) : {}), ...headers } });

  async function history(token: string): Promise<BroadcastRecord[]> {
    return (await call('GET', '/api/broadcasts', token)).json();
  }

  async function waitForRecording(id: string, states: Recording['state'][], token = server.adminToken): Promise<Recording> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = (await history(token)).flatMap((b) => b.recordings).find((r) => r.id === id || r.broadcastId === id);
      if (found && states.includes(found.state)) return found;
      if (Date.now() > deadline) throw new Error(`recording ${id} never reached ${states.join('/')}: ${JSON.stringify(found)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  before(async () => {
    rtmp = await startRtmpServer();
    server = await startServer({}, undefined, { schedulerIntervalMs: 0 });
    const dest = await server.app.inject({
      method: 'POST', url: '/api/destinations', headers: auth(server.adminToken),
      payload: { name: 'Local', platform: 'custom', serverUrl: rtmp.rtmpUrl('live'), streamKey: 'recording-key-1' },
    });
    destinationId = dest.json().id;
    const tokens: string[] = [];
    for (const email of ['owner@test.local', 'other@test.local']) {
      const created = await server.app.inject({ method: 'POST', url: '/api/users', headers: auth(server.adminToken), payload: { email, name: email, password: 'host-password', role: 'host' } });
      assert.equal(created.statusCode, 201);
      tokens.push((await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: 'host-password' } })).json().token);
    }
    [hostToken, otherHostToken] = tokens as [string, string];
    const room = await server.app.inject({ method: 'POST', url: '/api/rooms', headers: auth(hostToken), payload: { name: 'Recorded show' } });
    roomId = room.json().id;
    invite = new URL(room.json().joinUrl).searchParams.get('invite') ?? '';
  });
  after(async () => {
    await server?.close();
    await rtmp?.stop();
  });

  it('a recorded broadcast becomes an MP4 ffprobe reads with the broadcast\'s length; the FLV goes once the remux succeeded; hosts get the health series, guests do not, history keeps the average bitrate', async () => {
    const entry = await server.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/join`, headers: auth(hostToken), payload: { displayName: 'Olive Owner' } });
    assert.equal(entry.json().role, 'host');
    const host = await SignalClient.connect(server.wsUrl);
    const authed = await host.ok('authenticate', { token: entry.json().token, roomId });
    await host.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
    const guest = await SignalClient.connect(server.wsUrl);
    const guestAuthed = await guest.ok('authenticate', { token: await guestToken(server, roomId, invite, 'Gus'), roomId });
    await guest.ok('join', { rtpCapabilities: guestAuthed.routerRtpCapabilities });

    const pressedAt = performance.now();
    const started = await host.ok<{ broadcast: BroadcastStatus }>('startBroadcast', { destinationIds: [destinationId], record: true });
    assert.equal(started.broadcast.state, 'live', 'the start answer comes once the program is on air (the recording starts with it)');
    assert.equal(started.broadcast.recording, true);
    const live = await host.notification('broadcast', (d) => (d.broadcast?.health?.destinations[0]?.state.filter((s) => s === 'live').length ?? 0) >= 2, 20_000);
    const health = live.broadcast!.health!;
    assert.equal(health.windowSeconds, 300);
    assert.ok(health.program.fps.at(-1)! > 20, `the program's own frame rate is sampled: ${JSON.stringify(health.program)}`);
    const series = health.destinations[0]!;
    assert.equal(series.destinationId, destinationId);
    assert.ok(series.t.every((t, i) => i === 0 || t > series.t[i - 1]!), 'samples in time order');
    assert.ok(series.bitrateKbps.at(-1)! > 0 && series.fps.at(-1)! > 0, `bitrate and fps sampled: ${JSON.stringify(series)}`);
    const guestSaw = await guest.notification('broadcast', (d) => d.broadcast?.state === 'live');
    assert.equal(guestSaw.broadcast?.health, undefined, 'guests get the status without the health series');

    await new Promise((r) => setTimeout(r, Math.max(0, 7000 - (performance.now() - pressedAt))));
    await host.ok('stopBroadcast');

    // The broadcast's length is what the history says: from Go live pressed to stopped. The program
    // runs from the press (frames made while the encoder starts are sent once it runs), so that is
    // also the length of the media.
    const [record] = (await history(hostToken)).filter((b) => b.roomId === roomId);
    assert.ok(record?.stoppedAt);
    broadcastSeconds = (Date.parse(record.stoppedAt) - Date.parse(record.startedAt)) / 1000;
    recording = await waitForRecording(record.id, ['ready', 'failed']);
    assert.equal(recording.state, 'ready', JSON.stringify(recording));
    assert.equal(recording.format, 'mp4');
    assert.match(recording.fileName, /\.mp4$/);
    assert.ok(recording.durationSeconds !== null && Math.abs(recording.durationSeconds - broadcastSeconds) <= 0.5, `duration ${recording.durationSeconds} s vs broadcast ${broadcastSeconds.toFixed(2)} s`);
    const files = readdirSync(server.app.config.recordingsDir);
    assert.deepEqual(files, [recording.fileName], 'the FLV was removed once the MP4 was written');
    const final = (await history(hostToken)).find((b) => b.id === record.id)!;
    assert.equal(final.recordingFile, join(server.app.config.recordingsDir, recording.fileName));
    // The mean of the live samples (a slate, so a low bitrate): within what the series showed.
    const lastSeries = host.messages
      .flatMap((m) => (m.kind === 'notification' && m.event === 'broadcast' && m.data.broadcast?.health ? [m.data.broadcast.health.destinations[0]!] : []))
      .at(-1)!;
    const liveRates = lastSeries.bitrateKbps.filter((_, i) => lastSeries.state[i] === 'live');
    const average = final.destinations[0]?.averageBitrateKbps;
    assert.ok(
      typeof average === 'number' && average > 0 && average >= Math.min(...liveRates) - 1 && average <= Math.max(...liveRates) + 1,
      `history keeps the average bitrate: ${JSON.stringify(final.destinations)}, samples ${JSON.stringify(liveRates)}`,
    );
    host.close();
    guest.close();
  });

  it('the room\'s host downloads it through a link (no header needed) and ffprobe reads it as MP4 with the broadcast\'s length', async () => {
    const link = await call('POST', `/api/recordings/${recording.id}/link`, hostToken);
    assert.equal(link.statusCode, 200, link.body);
    const { url, expiresAt } = link.json() as { url: string; expiresAt: string };
    assert.ok(Date.parse(expiresAt) > Date.now());
    const res = await fetch(server.url + url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename=".+\.mp4"$/);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.length, recording.bytes);
    const downloaded = join(server.dataDir, 'downloaded.mp4');
    writeFileSync(downloaded, body);
    const probed = await probeFile(downloaded);
    assert.match(probed.formatName, /mp4/);
    assert.deepEqual(probed.streams, ['aac', 'h264']);
    assert.ok(Math.abs(probed.duration - broadcastSeconds) <= 0.5, `ffprobe reads ${probed.duration} s; the broadcast was on air ${broadcastSeconds.toFixed(2)} s`);
  });

  it('range requests answer 206 with the right bytes (a player can seek); past the end 416; a changed file (If-Range) the whole of it', async () => {
    const file = readFileSync(join(server.app.config.recordingsDir, recording.fileName));
    const url = `/api/recordings/${recording.id}/file`;
    const slice = await call('GET', url, hostToken, { range: 'bytes=1000-1999' });
    assert.equal(slice.statusCode, 206);
    assert.equal(slice.headers['content-range'], `bytes 1000-1999/${file.length}`);
    assert.equal(slice.headers['content-length'], '1000');
    assert.deepEqual(slice.rawPayload, file.subarray(1000, 2000));
    const tail = await call('GET', url, hostToken, { range: 'bytes=-100' });
    assert.equal(tail.statusCode, 206);
    assert.deepEqual(tail.rawPayload, file.subarray(file.length - 100));
    const open = await call('GET', url, hostToken, { range: `bytes=${file.length - 10}-` });
    assert.deepEqual([open.statusCode, open.rawPayload.length], [206, 10]);
    const beyond = await call('GET', url, hostToken, { range: `bytes=${file.length}-` });
    assert.equal(beyond.statusCode, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${file.length}`);
    const etag = String(slice.headers.etag);
    const same = await call('GET', url, hostToken, { range: 'bytes=0-9', 'if-range': etag });
    assert.equal(same.statusCode, 206);
    const changed = await call('GET', url, hostToken, { range: 'bytes=0-9', 'if-range': '"not-this-file"' });
    assert.deepEqual([changed.statusCode, changed.rawPayload.length], [200, file.length]);
    const whole = await call('GET', url, hostToken);
    assert.equal(whole.headers['content-length'], String(file.length));
  });

  it('who may download: admins and the room\'s host yes; a host of another room 403; nobody signed in 401; a link for another recording or a forged one 401', async () => {
    const url = `/api/recordings/${recording.id}/file`;
    assert.equal((await call('GET', url, server.adminToken, { range: 'bytes=0-0' })).statusCode, 206);
    assert.equal((await call('GET', url, hostToken, { range: 'bytes=0-0' })).statusCode, 206);
    const other = await call('GET', url, otherHostToken);
    assert.equal(other.statusCode, 403);
    assert.equal(other.json().error.code, 'FORBIDDEN');
    assert.equal((await call('POST', `/api/recordings/${recording.id}/link`, otherHostToken)).statusCode, 403);
    assert.equal((await call('GET', url)).statusCode, 401);
    // A guest of the room has no session at all: the guest's room token is not a session either.
    const guest = await guestToken(server, roomId, invite, 'Gus');
    assert.equal((await call('GET', url, guest)).statusCode, 401);

    const otherRecording = newId('rec');
    const link = (await call('POST', `/api/recordings/${recording.id}/link`, hostToken)).json().url as string;
    const token = new URL(link, server.url).searchParams.get('token') ?? '';
    assert.equal((await call('GET', `/api/recordings/${otherRecording}/file?token=${encodeURIComponent(token)}`)).statusCode, 401);
    assert.equal((await call('GET', `${url}?token=${encodeURIComponent(token.slice(0, -2))}xx`)).statusCode, 401);
    // The other host's link is refused at the link, and their signed-in request at the file.
    const otherLink = await call('POST', `/api/recordings/${recording.id}/link`, otherHostToken);
    assert.equal(otherLink.statusCode, 403);
  });

  it('only admins delete; deleting removes the file, the history lists the recording as deleted, and it can no longer be downloaded', async () => {
    const path = join(server.app.config.recordingsDir, recording.fileName);
    assert.equal((await call('DELETE', `/api/recordings/${recording.id}`, hostToken)).statusCode, 403);
    assert.ok(readdirSync(server.app.config.recordingsDir).includes(recording.fileName));
    assert.equal((await call('DELETE', `/api/recordings/${recording.id}`, server.adminToken)).statusCode, 204);
    assert.deepEqual(readdirSync(server.app.config.recordingsDir).filter((f) => path.endsWith(f)), []);
    const after = await waitForRecording(recording.id, ['deleted']);
    assert.equal(after.state, 'deleted');
    const gone = await call('GET', `/api/recordings/${recording.id}/file`, server.adminToken);
    assert.equal(gone.statusCode, 404);
    assert.equal((await call('DELETE', `/api/recordings/${recording.id}`, server.adminToken)).statusCode, 204, 'deleting twice is harmless');
  });

  it('a remux that fails keeps the FLV, which stays downloadable, and says so', async () => {
    const { db, config } = server.app;
    const { recordings } = server.app.broadcasts;
    mkdirSync(config.recordingsDir, { recursive: true });
    const flv = join(config.recordingsDir, 'broken.flv');
    writeFileSync(flv, Buffer.concat([Buffer.from('FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00'), Buffer.alloc(4096, 0x5a)]));
    const broadcastId = newId('b');
    db.prepare("INSERT INTO broadcasts (id, room_id, trigger, started_at, state, recording_file) VALUES (?, ?, 'manual', ?, 'stopped', ?)").run(broadcastId, roomId, new Date().toISOString(), flv);
    const id = recordings.begin(broadcastId, roomId, flv);
    await recordings.finish(id);
    const failed = await waitForRecording(id, ['failed', 'ready'], hostToken);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.format, 'flv');
    assert.match(failed.error ?? '', /^Converting the recording to MP4 failed \(.+\)\. The original FLV file is kept and can be downloaded\.$/);
    assert.deepEqual(readdirSync(config.recordingsDir).sort(), ['broken.flv'], 'the FLV is kept, no partial MP4 is left');
    const res = await call('GET', `/api/recordings/${id}/file`, hostToken);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'video/x-flv');
    assert.deepEqual(res.rawPayload, readFileSync(flv));
  });

  it('a recording whose remux a restart cut short is remuxed at the next start', async () => {
    const { config } = server.app;
    const { recordings } = server.app.broadcasts;
    const flv = join(config.recordingsDir, 'interrupted.flv');
    await makeFlv(flv, 3);
    const broadcastId = newId('b');
    const id = recordings.begin(broadcastId, roomId, flv);
    server.app.db.prepare("UPDATE recordings SET state = 'processing' WHERE id = ?").run(id);
    recordings.resumeInterrupted();
    await recordings.finish(id);
    const stored = recordings.get(id);
    assert.equal(stored.state, 'ready');
    assert.ok(stored.durationSeconds !== null && Math.abs(stored.durationSeconds - 3) <= 0.1, `duration ${stored.durationSeconds}`);
    const probed = await probeFile(stored.path);
    assert.match(probed.formatName, /mp4/);
    assert.ok(!readdirSync(config.recordingsDir).includes('interrupted.flv'));
  });

  it('recording the vertical program too: the 16:9 and the 9:16 program each become an MP4 of their own, listed in the history with their program (no destination takes the vertical one)', async () => {
    const made = await server.app.inject({ method: 'POST', url: '/api/rooms', headers: auth(hostToken), payload: { name: 'Both shapes' } });
    assert.equal(made.statusCode, 201, made.body);
    const bothRoomId = made.json().id as string;
    const entry = await server.app.inject({ method: 'POST', url: `/api/rooms/${bothRoomId}/join`, headers: auth(hostToken), payload: { displayName: 'Olive Owner' } });
    const host = await SignalClient.connect(server.wsUrl);
    const authed = await host.ok('authenticate', { token: entry.json().token, roomId: bothRoomId });
    await host.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });

    const started = await host.ok<{ broadcast: BroadcastStatus }>('startBroadcast', { destinationIds: [], record: true, recordVertical: true, verticalResolution: '720p' });
    assert.equal(started.broadcast.recording, true);
    assert.equal(started.broadcast.vertical.recording, true, 'the status says the vertical program is recorded');
    assert.equal(started.broadcast.vertical.encoding, true, 'recorded, the vertical program is encoded though no destination takes it');
    await new Promise((r) => setTimeout(r, 6000));
    await host.ok('stopBroadcast');
    host.close();

    const [record] = (await history(hostToken)).filter((b) => b.roomId === bothRoomId);
    assert.ok(record);
    const deadline = Date.now() + 30_000;
    let recordings: Recording[] = [];
    while (Date.now() < deadline) {
      recordings = (await history(hostToken)).find((b) => b.id === record.id)?.recordings ?? [];
      if (recordings.length === 2 && recordings.every((r) => r.state === 'ready' || r.state === 'failed')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(recordings.map((r) => [r.program, r.state, r.format]).sort(), [['landscape', 'ready', 'mp4'], ['vertical', 'ready', 'mp4']], JSON.stringify(recordings));
    const files = new Map(recordings.map((r) => [r.program, join(server.app.config.recordingsDir, r.fileName)]));
    const landscape = await probeVideo(files.get('landscape')!);
    const vertical = await probeVideo(files.get('vertical')!);
    assert.deepEqual([landscape.width, landscape.height], [1280, 720]);
    assert.deepEqual([vertical.width, vertical.height], [720, 1280]);
    for (const [name, probed] of [['16:9', landscape], ['9:16', vertical]] as const) {
      assert.ok(probed.keyframeGaps.length >= 1 && probed.keyframeGaps.every((g) => Math.abs(g - 2) <= 0.05), `${name}: keyframes every 2 s: ${JSON.stringify(probed.keyframeGaps)}`);
    }
    for (const path of files.values()) assert.deepEqual((await probeFile(path)).streams, ['aac', 'h264']);
    // The vertical encoder starts with the broadcast, so its file is as long as the 16:9 one, give or take its start-up.
    const [a, b] = recordings.map((r) => r.durationSeconds ?? 0) as [number, number];
    console.log('vertical recording', JSON.stringify({ seconds: Object.fromEntries(recordings.map((r) => [r.program, r.durationSeconds])) }));
    assert.ok(Math.abs(a - b) <= 1.5, `lengths ${a} s and ${b} s`);
  });
});
