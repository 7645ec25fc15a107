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

/** This process's direct children (every thread's `children` list; Linux 3.5+ with CONFIG_PROC_CHILDREN). */
export function childPids(): number[] {
  const pids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
      const raw = readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim();
      if (raw) for (const p of raw.split(' ')) pids.push(Number(p));
    }
  } catch {
    // not Linux, or the file is missing: no children seen
  }
  return pids;
}

/**
 * Cumulative CPU seconds of this process's children and of Node itself, sampled every `everyMs`
 * (default 50) so that a child that exits between two reads keeps the CPU it had used (a read
 * of a gone pid gives 0, which would make a window around an exit negative). `at(t)` gives each
 * child's CPU at time t: its last sample at or before t, 0 before it was first seen.
 */
export class CpuTracker {
  readonly #samples = new Map<number, Array<[number, number]>>();
  readonly #node: Array<[number, number]> = [];
  readonly #timer: NodeJS.Timeout;
  readonly born = new Map<number, number>();
  /** Each child's command line (NUL-separated arguments joined with spaces), read when first seen. */
  readonly commands = new Map<number, string>();

  constructor(everyMs = 50) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  /** Reads every child's CPU and Node's now (also called at window edges, for exact figures there). */
  sample(): number {
    const now = performance.now();
    for (const pid of childPids()) {
      const s = stat(pid);
      if (!s) continue;
      let list = this.#samples.get(pid);
      if (!list) {
        list = [];
        this.#samples.set(pid, list);
        this.born.set(pid, now);
      }
      // Read again while young: a child seen between fork and exec still shows Node's command line.
      if (now - (this.born.get(pid) ?? now) < 500 || !this.commands.has(pid)) {
        try {
          const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
          // A process that has exited (a zombie) shows an empty one: the last seen stays.
          if (command || !this.commands.has(pid)) this.commands.set(pid, command);
        } catch {
          // gone
        }
      }
      list.push([now, s.cpuSeconds]);
    }
    const u = process.cpuUsage();
    this.#node.push([now, (u.user + u.system) / 1e6]);
    return now;
  }

  /** Child pids seen so far. */
  pids(): number[] {
    return [...this.#samples.keys()];
  }

  /** CPU seconds `pid` (or Node, for 'node') had used at `t`. */
  at(pid: number | 'node', t: number): number {
    const list = pid === 'node' ? this.#node : this.#samples.get(pid);
    if (!list) return 0;
    let v = 0;
    for (const [when, cpu] of list) {
      if (when > t) break;
      v = cpu;
    }
    return v;
  }

  /** CPU seconds used between t0 and t1. */
  between(pid: number | 'node', t0: number, t1: number): number {
    return this.at(pid, t1) - this.at(pid, t0);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
