/**
 * On air or backstage, as the meeting shows it: each tile (a person's camera, or their screen
 * share) is in the program or not, and a host's one-click action moves it to the other side.
 */
import type { OnAirState, RequestData } from '@onair/shared';

export type TileVariant = 'camera' | 'screen';

/** Whether this tile is in the program. */
export function tileOnAir(onAir: OnAirState, variant: TileVariant): boolean {
  return onAir[variant];
}

/** The host's action for a tile: its words and the setOnAir request that does it. */
export function onAirAction(peer: { id: string; displayName: string; onAir: OnAirState }, variant: TileVariant): { label: string; request: RequestData<'setOnAir'> } {
  const onAir = tileOnAir(peer.onAir, variant);
  const what = variant === 'screen' ? `${peer.displayName}'s screen` : peer.displayName;
  return {
    label: onAir ? `Send ${what} backstage` : `Put ${what} on air`,
    request: { peerId: peer.id, source: variant, onAir: !onAir },
  };
}
