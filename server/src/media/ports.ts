import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';

/** Ports handed out in this process and not yet released (ffmpeg may not have bound them yet). */
const reserved = new Set<number>();

/** Where RTP ports for the composer are looked for (even port for RTP, the next one for RTCP). */
export const PORT_RANGE = { min: 30000, max: 39998 };

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '0.0.0.0', () => socket.close(() => resolve(true)));
  });
}

/** An even UDP port p with p and p + 1 free on this machine; release it with releasePortPair(). */
export async function reservePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const span = (PORT_RANGE.max - PORT_RANGE.min) / 2;
    const port = PORT_RANGE.min + 2 * Math.floor(Math.random() * span);
    if (reserved.has(port)) continue;
    reserved.add(port);
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
    reserved.delete(port);
  }
  throw new Error('No free UDP port pair for the composer');
}

export function releasePortPair(port: number): void {
  reserved.delete(port);
}

/** Whether some process has bound UDP `port` (read from /proc/net/udp; null when unreadable). */
export async function isUdpPortBound(port: number): Promise<boolean | null> {
  let text: string;
  try {
    text = await readFile('/proc/net/udp', 'utf8');
  } catch {
    return null;
  }
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return text.split('\n').some((line) => (line.trim().split(/\s+/)[1] ?? '').endsWith(hex));
}

/**
 * Waits until some process has bound UDP `port` (ffmpeg opens an SDP's RTP ports in order: wait
 * for the last one), so no RTP is sent before it listens and the first keyframe is not lost.
 * `stopped()` returning an error ends the wait with it (ffmpeg exited, its owner closed). Where
 * /proc/net/udp cannot be read it waits `fallbackMs` instead.
 */
export async function waitForUdpPort(port: number, options: { timeoutMs: number; fallbackMs: number; stopped: () => Error | null }): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const stop = options.stopped();
    if (stop) throw stop;
    const bound = await isUdpPortBound(port);
    if (bound === true) return;
    if (bound === null) {
      await new Promise((r) => setTimeout(r, options.fallbackMs));
      return;
    }
    if (performance.now() > deadline) throw new Error('ffmpeg did not open its RTP ports in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
