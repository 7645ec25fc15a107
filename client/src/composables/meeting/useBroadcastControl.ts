/** Go live, change and stop the room's broadcast (hosts), and its status for everyone. */
import { shallowRef } from 'vue';
import type { BroadcastStatus, RequestData } from '@onair/shared';
import { SignalError, type SignalConnection } from '../../services/signalling';
import { errorWords } from '../../services/errors';

/** Going live starts encoders and connects to platforms: give it longer than a plain request. */
const BROADCAST_TIMEOUT_MS = 20_000;

export function useBroadcastControl(joinedConnection: () => SignalConnection | null) {
  const broadcast = shallowRef<BroadcastStatus | null>(null);

  function conn(): SignalConnection {
    const c = joinedConnection();
    if (!c) throw new SignalError('NOT_JOINED', errorWords('CONNECTION_LOST'));
    return c;
  }

  async function startBroadcast(req: RequestData<'startBroadcast'>): Promise<BroadcastStatus> {
    const { broadcast: status } = await conn().request('startBroadcast', req, BROADCAST_TIMEOUT_MS);
    broadcast.value = status;
    return status;
  }

  async function updateBroadcast(req: RequestData<'updateBroadcast'>): Promise<BroadcastStatus> {
    const { broadcast: status } = await conn().request('updateBroadcast', req, BROADCAST_TIMEOUT_MS);
    broadcast.value = status;
    return status;
  }

  async function stopBroadcast(): Promise<void> {
    await conn().request('stopBroadcast', {}, BROADCAST_TIMEOUT_MS);
    // The final status arrives as a `broadcast` notification.
  }

  return { broadcast, startBroadcast, updateBroadcast, stopBroadcast };
}
