/**
 * Ctrl-C (SIGINT) and SIGTERM for the long-running commands (`transcribe`, `watch`): print what was done and
 * where it is, end every child process (ffmpeg, ffprobe, pocketsphinx, and anything they started) and exit 130.
 *
 * Children are found through the process tree, not the process group: voxpipe is often started by another
 * program (a shell script, a test runner, cron) whose group it shares, so killing the group would kill the
 * caller too. The tree is read from `/proc` on Linux and from `ps` elsewhere; every descendant gets SIGKILL
 * (they hold no state worth saving: the job store keeps finished chunks, and the job resumes on the next run).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeSync } from 'node:fs';

/** Exit code after an interrupt (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

export interface InterruptHandling {
  /** Remove the handlers (the command ended normally). */
  dispose(): void;
}

/**
 * On SIGINT or SIGTERM: `beforeSummary` (e.g. stop progress bars), kill the descendants, write `summary()` to
 * stdout, exit 130. A second signal while that runs exits at once.
 */
export function exitOnInterrupt(opts: { readonly summary: () => string; readonly beforeSummary?: () => void }): InterruptHandling {
  let handling = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (handling) process.exit(INTERRUPTED_EXIT_CODE);
    handling = true;
    const killed = killDescendants(process.pid);
    try {
      opts.beforeSummary?.();
    } catch {
      // the summary matters more than a progress bar
    }
    const children = killed > 0 ? `; stopped ${killed} child process${killed === 1 ? '' : 'es'}` : '';
    // Written synchronously: process.exit() does not wait for pending stream writes.
    writeSync(1, `\ninterrupted (${signal})${children}\n${opts.summary()}\n`);
    process.exit(INTERRUPTED_EXIT_CODE);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * SIGKILL every descendant of `pid` (the whole tree listed first, then killed), and wait up to `waitMs` until
 * they have ended, so none outlives voxpipe's exit. Returns how many were killed.
 */
export function killDescendants(pid: number, waitMs = 2000): number {
  const pids = descendantsOf(pid);
  const killed: number[] = [];
  for (const child of pids) {
    try {
      process.kill(child, 'SIGKILL');
      killed.push(child);
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + waitMs;
  const tick = new Int32Array(new SharedArrayBuffer(4));
  while (killed.some(running) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 10);
  return killed.length;
}

/** True while a process exists and is not a zombie (a zombie has ended; only its exit status is left). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // No /proc (macOS): ask the kernel whether the pid still exists.
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Every process below `pid` in the process tree. */
export function descendantsOf(pid: number): number[] {
  const parents = parentMap();
  const children = new Map<number, number[]>();
  for (const [child, parent] of parents) children.set(parent, [...(children.get(parent) ?? []), child]);
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (out.includes(child)) continue;
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** pid → parent pid of every process. */
function parentMap(): Map<number, number> {
  const map = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return parentMapFromPs();
  }
  for (const entry of entries) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      map.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return map;
}

function parentMapFromPs(): Map<number, number> {
  const map = new Map<number, number>();
  try {
    for (const line of execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid && ppid !== undefined) map.set(pid, ppid);
    }
  } catch {
    // no ps: nothing to kill that we can find
  }
  return map;
}

/** Counts of a run of several inputs, for the interrupt summary. */
export function runTally(opts: { readonly total: number; readonly noun: string; readonly where: string; readonly resume: string }) {
  let done = 0;
  let failed = 0;
  const plural = (n: number) => `${n} ${opts.noun}${n === 1 ? '' : 's'}`;
  return {
    /** Count one finished input: completed or not. */
    record<T extends { readonly result?: { readonly transcript: { readonly status: string } } }>(outcome: T): T {
      if (outcome.result?.transcript.status === 'completed') done += 1;
      else failed += 1;
      return outcome;
    },
    summary: () =>
      `${plural(opts.total)}: ${done} completed, ${failed} failed, ${opts.total - done - failed} interrupted · results in ${opts.where} · ${opts.resume}`,
  };
}
