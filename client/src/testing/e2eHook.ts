/**
 * Test-only: `window.__onair`, read by the end-to-end tests (Playwright) to check what this page
 * really receives (frames decoded, audio samples) and which ICE path it uses. Nothing in the UI
 * reads it.
 */
import type { Consumer, Transport } from 'mediasoup-client/types';

export interface InboundStats {
  peerId: string;
  kind: 'audio' | 'video';
  source: string;
  framesDecoded: number;
  packetsReceived: number;
  totalSamplesReceived: number;
  bytesReceived: number;
}

/** The ICE path a transport uses now (its selected candidate pair). */
export interface TransportPath {
  direction: 'send' | 'recv';
  /** 'host', 'srflx', 'prflx' or 'relay' (through TURN). */
  localCandidateType: string;
  remoteAddress: string;
  remotePort: number;
  remoteProtocol: string;
}

export interface OnAirTestHook {
  state(): string;
  stats(): Promise<InboundStats[]>;
  transports(): Promise<TransportPath[]>;
}

declare global {
  interface Window {
    __onair?: OnAirTestHook;
    /**
     * Test-only switch, set by end-to-end tests before the page loads (never by the UI): 'relay'
     * makes both transports use TURN relays only, as a browser behind a strict firewall would.
     */
    __onairIceTransportPolicy?: RTCIceTransportPolicy;
  }
}

export interface HookSources {
  state: () => string;
  consumers: () => Iterable<{ consumer: Consumer; peerId: string; kind: 'audio' | 'video'; source: string }>;
  transports: () => Array<['send' | 'recv', Transport | null]>;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

async function stats(sources: HookSources): Promise<InboundStats[]> {
  const rows: InboundStats[] = [];
  for (const entry of [...sources.consumers()]) {
    if (entry.consumer.closed) continue;
    let report: RTCStatsReport;
    try {
      report = await entry.consumer.getStats();
    } catch {
      continue;
    }
    report.forEach((s: unknown) => {
      if (typeof s !== 'object' || s === null || !('type' in s) || s.type !== 'inbound-rtp') return;
      if ('mid' in s && s.mid === 'probator') return; // mediasoup-client's bandwidth probe, not a participant
      const field = (name: string): unknown => (name in s ? Reflect.get(s, name) : undefined);
      rows.push({
        peerId: entry.peerId,
        kind: entry.kind,
        source: entry.source,
        framesDecoded: num(field('framesDecoded')),
        packetsReceived: num(field('packetsReceived')),
        totalSamplesReceived: num(field('totalSamplesReceived')),
        bytesReceived: num(field('bytesReceived')),
      });
    });
  }
  return rows;
}

async function transportPaths(sources: HookSources): Promise<TransportPath[]> {
  const paths: TransportPath[] = [];
  for (const [direction, transport] of sources.transports()) {
    if (!transport || transport.closed) continue;
    const byId = new Map<string, Record<string, unknown>>();
    (await transport.getStats()).forEach((s: Record<string, unknown>) => byId.set(String(s.id), s));
    const all = [...byId.values()];
    const selectedId = all.find((s) => s.type === 'transport')?.selectedCandidatePairId;
    const pair = typeof selectedId === 'string' ? byId.get(selectedId) : all.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
    if (!pair) continue;
    const local = byId.get(String(pair.localCandidateId));
    const remote = byId.get(String(pair.remoteCandidateId));
    paths.push({
      direction,
      localCandidateType: String(local?.candidateType ?? ''),
      remoteAddress: String(remote?.address ?? remote?.ip ?? ''),
      remotePort: num(remote?.port),
      remoteProtocol: String(remote?.protocol ?? ''),
    });
  }
  return paths;
}

/** Installs `window.__onair`; returns the function that removes it. */
export function installE2eHook(sources: HookSources): () => void {
  const hook: OnAirTestHook = { state: sources.state, stats: () => stats(sources), transports: () => transportPaths(sources) };
  window.__onair = hook;
  return () => {
    if (window.__onair === hook) delete window.__onair;
  };
}
