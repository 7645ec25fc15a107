// CPU and memory of a process tree, read from /proc (Linux).
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100;

function stat(pid: number): { ppid: number; cpuSeconds: number; rssBytes: number } | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const rssBytes = Number(fields[21]) * 4096;
    return { ppid, cpuSeconds, rssBytes };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) one process has used so far; 0 when it is gone or null. */
export function cpuSecondsOf(pid: number | null | undefined): number {
  return pid ? (stat(pid)?.cpuSeconds ?? 0) : 0;
}

/** Resident memory of one process (bytes); 0 when it is gone or null. */
export function rssBytesOf(pid: number | null | undefined): number {
  return pid ? (stat(pid)?.rssBytes ?? 0) : 0;
}

/** pid and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(entry));
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

export interface TreeSample {
  cpuSeconds: number;
  rssBytes: number;
  at: number;
}

export function sampleTree(root: number, filter: (pid: number) => boolean = () => true): TreeSample {
  let cpuSeconds = 0;
  let rssBytes = 0;
  for (const pid of processTree(root)) {
    if (!filter(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    cpuSeconds += s.cpuSeconds;
    rssBytes += s.rssBytes;
  }
  return { cpuSeconds, rssBytes, at: performance.now() };
}

export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch {
    return '';
  }
}

/** Cores used between two samples. */
export function cores(a: TreeSample, b: TreeSample): number {
  return (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000);
}

/** Median, 90th percentile and max of measured delays (NaN: a flash never seen), and how many were seen. */
export function latencyStats(xs: number[]): { n: number; of: number; median: number; p90: number; max: number } {
  const ok = xs.filter((x) => !Number.isNaN(x)).sort((p, q) => p - q);
  const at = (q: number) => ok[Math.min(ok.length - 1, Math.floor(q * ok.length))] ?? Number.NaN;
  return { n: ok.length, of: xs.length, median: at(0.5), p90: at(0.9), max: ok[ok.length - 1] ?? Number.NaN };
}
