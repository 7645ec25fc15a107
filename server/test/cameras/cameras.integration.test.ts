import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Camera, PeerInfo } from '@onair/shared';
import { processesContaining } from '../../../e2e/fixtures/processes.js';
import { startRtspCamera, type RtspCamera } from '../../../e2e/fixtures/rtspServer.js';
import { freeTcpPort } from '../../../e2e/fixtures/ports.js';
import { testCa } from '../../../e2e/fixtures/testCa.js';
import { auth, createRoom, SignalClient, startServer, type TestServer } from '../helpers.js';

const PASSWORD = 'cam-pass-7Qx!2';

async function until<T>(what: string, read: () => Promise<T> | T, ok: (value: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

describe('IP cameras over RTSP (real gst-rtsp-server, real ffmpeg and mediasoup)', () => {
  let server: TestServer;
  let camera: RtspCamera;
  let roomId: string;
  let invite: string;
  let person: SignalClient | null = null;

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token = server.adminToken) =>
    server.app.inject({ method, url, headers: auth(token), ...(payload !== undefined ? { payload: payload as object } : {}) });
  const cameras = async (): Promise<Camera[]> => (await api('GET', `/api/rooms/${roomId}/cameras`)).json();
  const cameraNamed = async (name: string): Promise<Camera | undefined> => (await cameras()).find((c) => c.name === name);

  async function joinRoom(displayName: string): Promise<SignalClient> {
    const token = await server.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/join`, payload: { displayName, invite } });
    const client = await SignalClient.connect(server.wsUrl);
    const authed = await client.ok('authenticate', { token: token.json().token, roomId });
    await client.ok('join', { rtpCapabilities: authed.routerRtpCapabilities });
    return client;
  }

  before(async () => {
    [server, camera] = await Promise.all([startServer(), startRtspCamera({ auth: 'digest', user: 'viewer', password: PASSWORD })]);
    ({ id: roomId, invite } = await createRoom(server, 'Cameras'));
  });
  after(async () => {
    person?.close();
    await server?.close();
    await camera?.stop();
  });

  it('stores a camera with its credentials split out and encrypted; the URL comes back masked; the room being closed, it is idle', async () => {
    const res = await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'Stage camera', url: camera.urlWithCredentials });
    assert.equal(res.statusCode, 201, res.body);
    const created: Camera = res.json();
    assert.equal(created.url, `rtsp://••••:••••@127.0.0.1:${camera.port}/cam`);
    assert.equal(created.hasCredentials, true);
    assert.equal(created.transport, 'tcp');
    assert.equal(created.status.state, 'idle');
    assert.ok(!res.body.includes(PASSWORD) && !res.body.includes('viewer'), 'no credential in the answer');
    const row = server.app.db.prepare('SELECT * FROM cameras WHERE id = ?').get(created.id);
    assert.ok(!JSON.stringify(row).includes(PASSWORD), 'the password is not stored in the clear');
    assert.ok(!(await api('GET', `/api/rooms/${roomId}/cameras`)).body.includes(PASSWORD));
  });

  it('refuses malformed and non-RTSP URLs at the API, naming the field, and stores nothing', async () => {
    const before = (await cameras()).length;
    for (const [url, words] of [
      ['http://127.0.0.1/cam', /^url must start with rtsp:\/\/ or rtsps:\/\/ \(it starts with http:\)/],
      ['camera.local/stream1', /^url must start with rtsp:\/\/ or rtsps:\/\//],
      ['rtsp:/127.0.0.1/cam', /^url must have \/\/ after rtsp:/],
      ['rtsp://127.0.0.1:99999/cam', /^url /],
      ['rtsp://cam era/x', /^url must not contain spaces/],
      ['rtsp:///cam', /^url (has no host name|is not a valid address)/],
    ] as const) {
      const res = await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'Bad', url });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().error.code, 'INVALID_RTSP_URL', url);
      assert.match(res.json().error.message, words, url);
    }
    const missing = await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'No URL' });
    assert.deepEqual([missing.statusCode, missing.json().error.code, missing.json().error.message], [400, 'VALIDATION_FAILED', 'url is required.']);
    const transport = await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'X', url: camera.url, transport: 'http' });
    assert.equal(transport.statusCode, 400);
    assert.match(transport.json().error.message, /^transport/);
    assert.equal((await cameras()).length, before);
  });

  it('only admins and the room’s hosts manage its cameras', async () => {
    const host = await api('POST', '/api/users', { email: 'other-host@test.local', name: 'Other', role: 'host', password: 'other host password' });
    assert.equal(host.statusCode, 201, host.body);
    const login = await server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'other-host@test.local', password: 'other host password' } });
    const token: string = login.json().token;
    assert.equal((await api('GET', `/api/rooms/${roomId}/cameras`, undefined, token)).statusCode, 403);
    assert.equal((await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'X', url: camera.url }, token)).statusCode, 403);
    assert.equal((await server.app.inject({ method: 'GET', url: `/api/rooms/${roomId}/cameras` })).statusCode, 401);
    const unknown = await api('PATCH', `/api/rooms/${roomId}/cameras/cam-nope`, { name: 'Y' });
    assert.deepEqual([unknown.statusCode, unknown.json().error.code], [404, 'CAMERA_NOT_FOUND']);
  });

  it('while a person is in the room the camera joins as a participant and goes live (H.264 passed through), with no credential in any process', async () => {
    person = await joinRoom('Ada');
    const live = await until('the camera live', () => cameraNamed('Stage camera'), (c) => c?.status.state === 'live');
    assert.equal(live?.status.video, 'passthrough');
    assert.equal(live?.status.lastError, null);
    const joined = await person.notification('peerUpdated', (d) => d.peer.outside?.state === 'live' && d.peer.producers.length === 2, 15_000).catch(async () => null);
    const peer: PeerInfo | undefined = joined?.peer;
    assert.equal(peer?.displayName, 'Stage camera');
    assert.equal(peer?.outside?.kind, 'rtsp');
    const pid = server.app.cameras.puller(live!.id)?.ffmpegPid;
    assert.ok(pid, 'an ffmpeg pulls the camera');
    assert.deepEqual(processesContaining(PASSWORD), [], 'no process shows the camera password in its arguments or environment');
    assert.deepEqual(processesContaining(encodeURIComponent(PASSWORD)), []);
  });

  it('the camera going away shows "retrying" with the reason in plain words and the next attempt; back, it is live again', async () => {
    await camera.kill();
    const retrying = await until('retrying', () => cameraNamed('Stage camera'), (c) => c?.status.state === 'retrying');
    assert.match(retrying!.status.lastError ?? '', new RegExp(`stopped sending|Nothing answers at 127\\.0\\.0\\.1:${camera.port}`));
    assert.ok(retrying!.status.nextAttemptAt && Date.parse(retrying!.status.nextAttemptAt) > Date.now() - 1000);
    await person!.notification('peerUpdated', (d) => d.peer.displayName === 'Stage camera' && d.peer.outside?.state === 'reconnecting', 10_000);
    await camera.restart();
    const back = await until('live again', () => cameraNamed('Stage camera'), (c) => c?.status.state === 'live', 40_000);
    assert.equal(back?.status.retries, 0);
  });

  it('wrong credentials, nothing listening and an unknown host: each a plain-words state, the good camera stays live', async () => {
    const deadPort = await freeTcpPort();
    const bad = [
      { name: 'Wrong password', url: camera.url, username: 'viewer', password: 'not-the-password', words: /^The camera refused the user name or password\.$/ },
      { name: 'Nothing there', url: `rtsp://127.0.0.1:${deadPort}/cam`, words: new RegExp(`^Nothing answers at 127\\.0\\.0\\.1:${deadPort}`) },
      { name: 'Unknown host', url: 'rtsp://no-such-camera.invalid/stream1', words: /^The host name no-such-camera\.invalid could not be found/ },
      { name: 'Wrong path', url: `rtsp://viewer:${encodeURIComponent(PASSWORD)}@127.0.0.1:${camera.port}/nothing`, words: /no stream at this path/ },
    ];
    for (const { words: _w, ...body } of bad) assert.equal((await api('POST', `/api/rooms/${roomId}/cameras`, body)).statusCode, 201);
    for (const { name, words } of bad) {
      const c = await until(`${name} retrying`, () => cameraNamed(name), (x) => x?.status.state === 'retrying');
      assert.match(c!.status.lastError ?? '', words, name);
    }
    assert.equal((await cameraNamed('Stage camera'))?.status.state, 'live');
    // The probes of the retrying cameras come and go: none of them shows its password either.
    for (const end = Date.now() + 2000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      assert.deepEqual(processesContaining('not-the-password'), []);
      assert.deepEqual(processesContaining(PASSWORD), []);
    }
    // Cameras that never connected are not participants: the room shows only the person and the live camera.
    const room = server.app.registry.get(roomId)!;
    assert.deepEqual([...room.peers.values()].map((p) => p.displayName).sort(), ['Ada', 'Stage camera']);
    for (const { name } of bad) {
      const c = await cameraNamed(name);
      assert.equal((await api('DELETE', `/api/rooms/${roomId}/cameras/${c!.id}`)).statusCode, 204);
    }
  });

  it('a camera that accepts the connection and never answers: "did not answer in time"; removed while it is probed, its ffmpeg stops at once', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const silent = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.resume(); // read (and drop) what ffmpeg sends, so its disconnect is seen
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as { port: number }).port;
    try {
      const res = await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'Silent', url: `rtsp://127.0.0.1:${port}/cam` });
      const c = await until('silent retrying', () => cameraNamed('Silent'), (x) => x?.status.state === 'retrying', 20_000);
      assert.equal(c!.status.lastError, `The camera at 127.0.0.1:${port} did not answer in time.`);
      // The next attempt's probe waits on the silent server (up to its 5 s timeout): remove the camera meanwhile.
      await until('the next probe connected', () => connections, (n) => n >= 2, 10_000);
      const removedAt = Date.now();
      assert.equal((await api('DELETE', `/api/rooms/${roomId}/cameras/${res.json().id}`)).statusCode, 204);
      await until('the probe gone', () => sockets.size, (n) => n === 0, 3000);
      assert.ok(Date.now() - removedAt < 3000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('an rtsps:// camera (TLS, a self-signed certificate as cameras ship) sending H.264 High goes live, transcoded', async () => {
    const secure = await startRtspCamera({ tls: testCa().selfSigned('camera', ['IP:127.0.0.1']), auth: 'basic', user: 'tls-user', password: 'tls-pass-91', profile: 'high' });
    try {
      assert.match(secure.url, /^rtsps:\/\//);
      const res = await api('POST', `/api/rooms/${roomId}/cameras`, { name: 'Secure camera', url: secure.urlWithCredentials });
      assert.equal(res.statusCode, 201, res.body);
      const live = await until('the rtsps camera live', () => cameraNamed('Secure camera'), (c) => c?.status.state === 'live');
      assert.equal(live?.status.video, 'transcode');
      assert.equal((await api('DELETE', `/api/rooms/${roomId}/cameras/${res.json().id}`)).statusCode, 204);
    } finally {
      await secure.stop();
    }
  });

  it('changing a camera restarts its pull; the room closes once its people leave (the camera does not hold it) and the camera is idle', async () => {
    const stage = (await cameraNamed('Stage camera'))!;
    const patched = await api('PATCH', `/api/rooms/${roomId}/cameras/${stage.id}`, { transport: 'udp', name: 'Stage (UDP)' });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().hasCredentials, true, 'a new transport keeps the stored credentials');
    await until('live over UDP', () => cameraNamed('Stage (UDP)'), (c) => c?.status.state === 'live');
    person?.close();
    person = null;
    await until('the room closed', () => server.app.registry.get(roomId), (r) => r === undefined, 10_000);
    assert.equal((await cameraNamed('Stage (UDP)'))?.status.state, 'idle');
  });
});
