import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { types as ms } from 'mediasoup';
import type { OnAirState } from '@onair/shared';
import { onAirParticipants } from '../../src/broadcast/BroadcastService.js';
import { buildScene, type SceneParticipant } from '../../src/compositor/scene.js';
import { Peer } from '../../src/sfu/Peer.js';

/** A stand-in producer (only id, kind, paused and closed are read here; the integration test uses real ones). */
const producer = (id: string, kind: 'audio' | 'video') => ({ id, kind, paused: false, closed: false }) as unknown as ms.Producer;

function peer(id: string, onAir: OnAirState, screen: boolean): Peer {
  const p = new Peer({ id, userKey: id, displayName: id, role: 'guest', onAir, notify: () => undefined });
  p.rtpCapabilities = { codecs: [] };
  p.producers.set(`${id}-mic`, { producer: producer(`${id}-mic`, 'audio'), source: 'mic' });
  p.producers.set(`${id}-cam`, { producer: producer(`${id}-cam`, 'video'), source: 'camera' });
  if (screen) p.producers.set(`${id}-screen`, { producer: producer(`${id}-screen`, 'video'), source: 'screen' });
  return p;
}

describe('who is in the program (stand-in producers)', () => {
  const cases: Array<[string, OnAirState, boolean, string[] | null, boolean]> = [
    ['on air: camera, mic and screen', { camera: true, screen: true }, true, ['a-mic', 'a-cam', 'a-screen'], false],
    ['backstage: nothing', { camera: false, screen: false }, true, null, false],
    ['person on air, screen backstage: camera and mic only', { camera: true, screen: false }, true, ['a-mic', 'a-cam'], false],
    ['person backstage, screen on air: the screen alone', { camera: false, screen: true }, true, ['a-screen'], true],
    ['person backstage, screen on air but not shared: nothing', { camera: false, screen: true }, false, null, false],
  ];
  for (const [what, onAir, sharing, producers, screenOnly] of cases) {
    it(what, () => {
      const [entry, ...rest] = onAirParticipants({ joinedPeers: [peer('a', onAir, sharing)] });
      assert.equal(rest.length, 0);
      if (producers === null) return assert.equal(entry, undefined);
      assert.deepEqual(entry?.producers.map((x) => x.producer.id), producers);
      assert.equal(entry?.screenOnly, screenOnly);
    });
  }
});

describe('the scene of a screen-only participant', () => {
  const frame = { width: 1280, height: 720 };
  const media = (producerId: string) => ({ producerId, paused: false });
  const host: SceneParticipant = { peerId: 'h', displayName: 'Host', camera: media('h-cam'), screen: null, mic: media('h-mic') };
  const guest: SceneParticipant = { peerId: 'g', displayName: 'Guest', camera: null, screen: media('g-screen'), mic: null, screenOnly: true };
  for (const layout of ['grid', 'speaker', 'screen', 'auto'] as const) {
    it(`${layout}: their screen is a tile, they have no camera tile, and only the host's mic is mixed`, () => {
      const scene = buildScene({ participants: [host, guest], layout, speakerId: 'g', frame, title: null, lowerThird: null, slateText: 'Soon' });
      assert.deepEqual(scene.tiles.map((t) => `${t.peerId}:${t.kind}`).sort(), ['g:screen', 'h:camera']);
      assert.deepEqual(scene.audio, [media('h-mic')]);
      assert.equal(scene.slate, null);
    });
  }
});
