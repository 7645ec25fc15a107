import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * util-linux's setpriv (in every Debian install) sets PR_SET_PDEATHSIG before it execs the command:
 * the kernel kills the child when the server dies, even by SIGKILL or the OOM killer, which no
 * handler in Node can do. It matters for processes that would otherwise wait forever (a spare
 * ffmpeg blocked opening its FIFO); every ffmpeg goes through it so a crashed server leaves none.
 * Node spawns from its main thread, whose exit is the process's. Without setpriv: a plain spawn.
 */
const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = existsSync(SETPRIV);

/** `spawn`, the child killed by the kernel when this process dies (same pid: setpriv execs the command). */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return hasSetpriv ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], options) : spawn(command, args, options);
}
