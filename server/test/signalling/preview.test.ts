import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRoom, guestToken, hostToken, joinRoom, SignalClient, startServer, type TestServer } from '../helpers.js';

describe('program preview: hosts and the people backstage watch it, and it composes before going live', { timeout: 90_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  async function joined(token: string, roomId: string) {
    const client = await SignalClient.connect(server.wsUrl);
    const { auth } = await joinRoom(client, token, roomId);
    return Object.assign(client, { peerId: auth.peerId });
  }

  it('a guest on air asking for the preview is refused (FORBIDDEN), one backstage gets it; a host gets NOT_LIVE until the preview is open, then a VP8 consumer; Go live needs a destination', async () => {
    const room = await createRoom(server);
    const host = await joined(await hostToken(server, room.id), room.id);
    const guest = await joined(await guestToken(server, room.id, room.invite, 'Gus'), room.id);

    const early = await host.request('consumePreview', {});
    assert.equal(early.kind === 'error' && early.error.code, 'NOT_LIVE');
    const noDestination = await host.request('startBroadcast', { destinationIds: [] });
    // Without the preview, a broadcast must go somewhere.
    assert.equal(noDestination.kind === 'error' && noDestination.error.code, 'VALIDATION_FAILED');

    // Opening waits for the program's first keyframe: give it longer on 2 busy cores.
    const reply = await host.request('startBroadcast', { destinationIds: [], preview: true, layout: 'grid' }, 30_000);
    assert.equal(reply.kind, 'response', JSON.stringify(reply));
    const opened = reply.kind === 'response' ? (reply.data as { broadcast: { state: string; destinations: unknown[] } }) : null;
    assert.equal(opened?.broadcast.state, 'preview');
    assert.deepEqual(opened?.broadcast.destinations, [], 'the preview goes nowhere');
    // The preview's producer comes up right after the program's first picture.
    await guest.notification('broadcast', (d) => d.broadcast?.preview === true, 20_000);
    assert.equal(server.app.broadcasts.history({ id: 'admin', role: 'admin' } as never, 10).length, 0, 'nothing in the history until Go live');

    const refused = await guest.request('consumePreview', {});
    assert.equal(refused.kind === 'error' && refused.error.code, 'FORBIDDEN');
    assert.equal(guest.closeCode, null, 'a refused request does not end the session');
    // Sent backstage, the guest watches what goes out while waiting to go on air.
    await host.ok('setOnAir', { peerId: guest.peerId, onAir: false });
    const backstage = await guest.ok('consumePreview', {});
    assert.equal(backstage.kind, 'video');
    await guest.ok('resumeConsumer', { consumerId: backstage.consumerId });

    const consumer = await host.ok('consumePreview', {});
    assert.equal(consumer.kind, 'video');
    assert.equal(consumer.rtpParameters.codecs[0]?.mimeType.toLowerCase(), 'video/vp8');
    await host.ok('resumeConsumer', { consumerId: consumer.consumerId });

    const again = await host.request('startBroadcast', { destinationIds: [], preview: true });
    assert.equal(again.kind === 'error' && again.error.code, 'ALREADY_LIVE');
    await host.ok('stopBroadcast', {});
    await host.notification('consumerClosed', (d) => d.consumerId === consumer.consumerId);
    host.close();
    guest.close();
  });
});
