import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { childrenRunning } from '../../../e2e/fixtures/processes.js';
import { auth, createRoom, guestToken, hostToken, joinRoom, SignalClient, startServer, VP8_PARAMETERS, type TestServer } from '../helpers.js';

/** The error code of a reply, or 'ok'. */
const codeOf = (reply: { kind: string; error?: { code: string } }): string => (reply.kind === 'error' ? (reply.error?.code ?? '?') : 'ok');

describe('watching the program preview from the dashboard: a receive-only session for the room hosts, outside the meeting', { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function post(url: string, token?: string, payload: Record<string, unknown> = {}) {
    const res = await server.app.inject({ method: 'POST', url, ...(token ? { headers: auth(token) } : {}), payload });
    return { status: res.statusCode, body: res.json() };
  }

  /** Every socket a test opened, closed after it whatever failed (an open one would hold the server's close). */
  const sockets: SignalClient[] = [];
  afterEach(() => {
    for (const c of sockets.splice(0)) c.close();
  });

  async function connect(): Promise<SignalClient> {
    const client = await SignalClient.connect(server.wsUrl);
    sockets.push(client);
    return client;
  }

  async function joined(token: string, roomId: string) {
    const client = await connect();
    await joinRoom(client, token, roomId);
    return client;
  }

  /** A watcher's socket, authenticated with a preview token (it never joins). */
  async function watcher(token: string, roomId?: string) {
    const client = await connect();
    const reply = await client.request('authenticate', roomId ? { token, roomId } : { token });
    return { client, reply };
  }

  /** A signed-in host account of its own (not a host of the test room) and its session token. */
  async function otherHost(): Promise<{ id: string; token: string }> {
    const email = `other-host-${Date.now()}@test.local`;
    const created = await post('/api/users', server.adminToken, { email, name: 'Olga Other', password: 'other-host-password', role: 'host' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const login = await post('/api/auth/login', undefined, { email, password: 'other-host-password' });
    return { id: created.body.id, token: login.body.token };
  }

  it('refuses a preview token to anyone but the room hosts, and forged, expired, foreign and meeting tokens in plain words; nothing reaches the meeting', async () => {
    const room = await createRoom(server, 'Rights');
    const hostRoomToken = await hostToken(server, room.id);
    const host = await joined(hostRoomToken, room.id);

    const anonymous = await post(`/api/rooms/${room.id}/broadcast/preview-token`);
    assert.equal(anonymous.status, 401, 'signed-out callers get no preview token');
    const other = await otherHost();
    const foreign = await post(`/api/rooms/${room.id}/broadcast/preview-token`, other.token);
    assert.equal(foreign.status, 403, 'a host of another room gets no preview token for this one');
    assert.match(foreign.body.error.message, /hosts of this room/);
    assert.equal((await post('/api/rooms/no-such-room/broadcast/preview-token', server.adminToken)).status, 404);

    // The other host's own room: their preview token is for it, and names no other.
    const ownRoom = await post('/api/rooms', other.token, { name: 'Elsewhere' });
    const ownToken = (await post(`/api/rooms/${ownRoom.body.id}/broadcast/preview-token`, other.token)).body.token as string;
    const wrongRoom = await watcher(ownToken, room.id);
    assert.equal(codeOf(wrongRoom.reply), 'WRONG_ROOM', 'a preview token of another room is refused for this one');
    const notOpen = await watcher(ownToken);
    assert.equal(codeOf(notOpen.reply), 'NOT_LIVE', 'a room nobody has opened has no program to watch (and a watcher does not open it)');
    assert.equal(server.app.registry.get(ownRoom.body.id), undefined);

    const claims = { typ: 'preview', sub: 'admin', room: room.id, name: 'Mallory', ver: 0 };
    const forged = await watcher(jwt.sign(claims, 'not-the-server-secret'), room.id);
    assert.equal(codeOf(forged.reply), 'TOKEN_INVALID');
    assert.match(forged.reply.kind === 'error' ? forged.reply.error.message : '', /not valid/);
    assert.equal(await forged.client.closedPromise, 4001, 'a refused authenticate closes the socket');
    const expired = await watcher(server.app.tokens.sign({ typ: 'preview', sub: other.id, room: room.id, name: 'Olga', ver: 0 }, -10), room.id);
    assert.equal(codeOf(expired.reply), 'TOKEN_EXPIRED');
    // A token signed for this room but for someone who does not host it (rights are read from the database at authenticate).
    const notAHost = await watcher(server.app.tokens.sign({ typ: 'preview', sub: other.id, room: room.id, name: 'Olga', ver: 0 }, 60), room.id);
    assert.equal(codeOf(notAHost.reply), 'FORBIDDEN');
    // A guest's room token opens a participant session, never a watcher: the preview stays refused.
    const guest = await joined(await guestToken(server, room.id, room.invite, 'Gus'), room.id);
    assert.equal(codeOf(await guest.request('consumePreview', {})), 'FORBIDDEN');

    // A preview token does not get into the meeting through the join route's door either.
    const previewToken = (await post(`/api/rooms/${room.id}/broadcast/preview-token`, server.adminToken)).body.token as string;
    assert.throws(() => server.app.tokens.verifyRoom(previewToken), /not valid/);
    assert.equal(host.messages.filter((m) => m.kind === 'notification' && m.event === 'peerJoined').length, 1, 'the host saw the guest join, and nobody else');
  });

  it('an admin watches it without joining: only the receive side, no join or produce, invisible to the meeting, and the socket closing ends the consumer', async () => {
    const room = await createRoom(server, 'Watched show');
    const hostRoomToken = await hostToken(server, room.id);
    const host = await joined(hostRoomToken, room.id);
    const guest = await joined(await guestToken(server, room.id, room.invite, 'Gus'), room.id);

    const minted = await post(`/api/rooms/${room.id}/broadcast/preview-token`, server.adminToken);
    assert.equal(minted.status, 200);
    // The same account as the host in the meeting: watching does not replace that session.
    const { client: watching, reply } = await watcher(minted.body.token, room.id);
    assert.equal(reply.kind, 'response', JSON.stringify(reply));
    const authed = reply.kind === 'response' ? (reply.data as { routerRtpCapabilities: unknown; role: string }) : null;
    assert.equal(authed?.role, 'admin');
    const rtpCapabilities = authed?.routerRtpCapabilities;

    const early = await watching.request('consumePreview', { rtpCapabilities });
    assert.equal(codeOf(early), 'NOT_JOINED', 'the receive transport comes first');
    assert.equal(codeOf(await watching.request('createTransport', { direction: 'send' })), 'FORBIDDEN', 'a watcher cannot send media');
    const recv = await watching.ok('createTransport', { direction: 'recv' });
    assert.equal(codeOf(await watching.request('consumePreview', { rtpCapabilities })), 'NOT_LIVE', 'nothing to watch before the preview opens');
    for (const [type, data] of [
      ['join', { rtpCapabilities }],
      ['produce', { transportId: recv.id, kind: 'video', rtpParameters: VP8_PARAMETERS, source: 'camera' }],
      ['startBroadcast', { destinationIds: [], preview: true }],
      ['setOnAir', { peerId: 'anyone', onAir: true }],
      ['stopBroadcast', {}],
    ] as const) {
      const refused = await watching.request(type, data);
      assert.equal(codeOf(refused), 'FORBIDDEN', `${type} is refused to a watcher`);
      assert.match(refused.kind === 'error' ? refused.error.message : '', /only watches the program preview/);
    }
    assert.equal(watching.closeCode, null, 'a refused request does not end the watching session');

    const live = await server.app.inject({ method: 'GET', url: '/api/rooms', headers: auth(server.adminToken) });
    assert.equal(live.json().find((r: { id: string }) => r.id === room.id)?.participants, 2, 'the watcher is not counted as a participant');
    const open = server.app.registry.get(room.id);
    assert.equal(open?.joinedPeers.length, 2);
    assert.equal(open?.watchers.size, 1);

    const started = await host.request('startBroadcast', { destinationIds: [], preview: true, layout: 'grid' }, 30_000);
    assert.equal(started.kind, 'response', JSON.stringify(started));
    await host.notification('broadcast', (d) => d.broadcast?.preview === true, 20_000);
    // The watcher is told as the meeting is, with the hosts' health: its page need not wait for a poll.
    const told = await watching.notification('broadcast', (d) => d.broadcast?.preview === true, 5_000);
    assert.ok(told.broadcast?.health, 'a watcher gets the status hosts get');
    const consumer = await watching.ok('consumePreview', { rtpCapabilities });
    assert.equal(consumer.rtpParameters.codecs[0]?.mimeType.toLowerCase(), 'video/vp8');
    await watching.ok('resumeConsumer', { consumerId: consumer.consumerId });
    // Asking again replaces the consumer rather than adding one.
    const again = await watching.ok('consumePreview', { rtpCapabilities });
    const serverSide = [...(open?.watchers.values() ?? [])][0];
    assert.deepEqual([...(serverSide?.consumers.keys() ?? [])], [again.consumerId]);
    await watching.ok('resumeConsumer', { consumerId: again.consumerId });
    assert.equal(childrenRunning('libvpx').length, 1, 'the admin watching started the preview encoder, once');

    // The watcher's presence reached nobody in the meeting.
    for (const c of [host, guest]) {
      const joins = c.messages.filter((m) => m.kind === 'notification' && m.event === 'peerJoined');
      assert.equal(joins.length, c === host ? 1 : 0, 'no peerJoined for the watcher');
    }

    sockets.splice(sockets.indexOf(watching), 1);
    watching.close();
    const deadline = Date.now() + 5_000;
    while ((open?.watchers.size ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(open?.watchers.size, 0, 'closing the page drops the watcher');
    const consumerGone = serverSide?.consumers.size === 0 && serverSide.transports.size === 0;
    assert.ok(consumerGone, 'and its transport and consumer');
    assert.equal(open?.joinedPeers.length, 2, 'the meeting is untouched');
    await host.ok('stopBroadcast', {});
  });

  it('a watcher connected to an open meeting is told the moment a program starts and when it stops; the status endpoint says whether the meeting is open', async () => {
    const room = await createRoom(server, 'Told show');
    const status = async () => (await server.app.inject({ method: 'GET', url: `/api/rooms/${room.id}/broadcast`, headers: auth(server.adminToken) })).json();
    assert.deepEqual(await status(), { broadcast: null, roomOpen: false }, 'nobody in the meeting: nothing to connect to');
    const host = await joined(await hostToken(server, room.id), room.id);
    assert.deepEqual(await status(), { broadcast: null, roomOpen: true });
    const { client: watching, reply } = await watcher((await post(`/api/rooms/${room.id}/broadcast/preview-token`, server.adminToken)).body.token, room.id);
    assert.equal(reply.kind, 'response', JSON.stringify(reply));

    const started = await host.request('startBroadcast', { destinationIds: [], preview: true }, 30_000);
    assert.equal(started.kind, 'response', JSON.stringify(started));
    const told = await watching.notification('broadcast', (d) => d.broadcast?.preview === true, 5_000);
    assert.equal(told.broadcast?.state, 'preview');
    await host.ok('stopBroadcast', {});
    await watching.notification('broadcast', (d) => d.broadcast === null, 5_000);
    assert.equal(watching.closeCode, null, 'the watcher stays connected for the next program');
    assert.equal((await status()).broadcast, null);
  });
});
