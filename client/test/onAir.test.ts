import { describe, expect, it } from 'vitest';
import { onAirAction, tileOnAir } from '../src/composables/meeting/onAir';

const peer = (camera: boolean, screen: boolean) => ({ id: 'p1', displayName: 'Gus', onAir: { camera, screen } });

describe('on air or backstage, per tile', () => {
  it.each([
    ['a backstage person', peer(false, false), 'camera', false, 'Put Gus on air', { peerId: 'p1', source: 'camera', onAir: true }],
    ['a person on air', peer(true, false), 'camera', true, 'Send Gus backstage', { peerId: 'p1', source: 'camera', onAir: false }],
    ['a screen share on air, its person backstage', peer(false, true), 'screen', true, "Send Gus's screen backstage", { peerId: 'p1', source: 'screen', onAir: false }],
    ['a backstage screen share, its person on air', peer(true, false), 'screen', false, "Put Gus's screen on air", { peerId: 'p1', source: 'screen', onAir: true }],
  ] as const)('%s: the tile says so and the host’s one click asks for the other side', (_what, p, variant, onAir, label, request) => {
    expect(tileOnAir(p.onAir, variant)).toBe(onAir);
    expect(onAirAction(p, variant)).toEqual({ label, request });
  });
});
