/**
 * The one way voxpipe runs a child process (ffmpeg, ffprobe, pocketsphinx): every spawn in the product goes
 * through `runProcess`.
 *
 * - Memory is constant for any run length: stderr is read line by line and only its last lines are kept;
 *   stdout is either consumed line by line or collected (for short outputs such as ffprobe's JSON).
 * - An `AbortSignal` or a timeout kills the child (SIGKILL): an aborted run rejects with the signal's reason,
 *   a timed-out one resolves with `timedOut` and the kill signal, which `throwIfInfrastructure` reports as an
 *   infrastructure fault.
 * - A binary that cannot be started (missing, not executable) rejects with the caller's error (default an
 *   `InfrastructureError`): never a verdict on the user's file.
 * - `throwIfInfrastructure` tells failures that say nothing about the input (killed, disk full, no memory,
 *   the tool rejected its own command line, the network or the store failed) from the input's own faults,
 *   which callers turn into `PermanentError`s.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { InfrastructureError } from '../core/errors.js';

export interface RunOptions {
  /** Bytes written to the child's stdin, which is then closed. Without it stdin is closed at once (reads see EOF). */
  readonly stdin?: Uint8Array;
  /** Stdout line by line; when set, stdout is not collected into `RunResult.stdout`. */
  readonly onStdoutLine?: (line: string) => void;
  /** Every stderr line, as it arrives. */
  readonly onStderrLine?: (line: string) => void;
  /** Non-blank stderr lines kept in `RunResult.tail`. @default 8 */
  readonly tailLines?: number;
  /** Which stderr lines may enter the tail (e.g. drop a tool's INFO chatter). @default every non-blank line */
  readonly tailFilter?: (line: string) => boolean;
  /** Kills the child (SIGKILL); the run then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Kills the child (SIGKILL) after this long; the run resolves with `timedOut: true`. */
  readonly timeoutMs?: number;
  /** The error for a child that cannot be started. @default an `InfrastructureError` naming the binary */
  readonly spawnError?: (err: Error, bin: string) => Error;
}

export interface RunResult {
  /** Exit code; 1 when the child was ended by a signal. */
  readonly code: number;
  /** The signal that ended the child (killed: OOM, timeout, operator), if any. */
  readonly signal: NodeJS.Signals | null;
  /** Stdout, unless `onStdoutLine` consumed it. */
  readonly stdout: Buffer;
  /** Last stderr lines (bounded). */
  readonly tail: string[];
  /** The child was killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
  /** What was run, for messages: the binary's path and `timeoutMs`. */
  readonly bin: string;
  readonly timeoutMs?: number;
}

/** Run a child to completion. Resolves whatever its exit code; rejects only when it cannot start or is aborted. */
export function runProcess(bin: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stdoutRead: Promise<void> = Promise.resolve();
    if (opts.onStdoutLine !== undefined) {
      const rl = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', opts.onStdoutLine);
      stdoutRead = new Promise((r) => rl.on('close', () => r()));
    } else child.stdout.on('data', (b: Buffer) => out.push(b));
    const tail = collectTail(child.stderr, opts);

    let timedOut = false;
    const kill = () => child.kill('SIGKILL');
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    signal?.addEventListener('abort', kill, { once: true });
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
    };

    child.on('error', (err) => {
      done();
      reject(opts.spawnError?.(err, bin) ?? new InfrastructureError(`cannot run ${bin}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      done();
      void Promise.all([tail, stdoutRead]).then(([lines]) => {
        if (signal?.aborted) reject(signal.reason);
        else resolve({ code: code ?? 1, signal: sig, stdout: Buffer.concat(out), tail: lines, timedOut, bin, timeoutMs: opts.timeoutMs });
      });
    });

    child.stdin.on('error', () => undefined); // EPIPE when the child exits early: its exit code tells
    child.stdin.end(opts.stdin === undefined ? undefined : Buffer.from(opts.stdin.buffer, opts.stdin.byteOffset, opts.stdin.byteLength));
  });
}

function collectTail(stream: NodeJS.ReadableStream, opts: RunOptions): Promise<string[]> {
  const keep = opts.tailLines ?? 8;
  const lines: string[] = [];
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  rl.on('line', (line) => {
    opts.onStderrLine?.(line);
    if (line.trim() === '' || (opts.tailFilter !== undefined && !opts.tailFilter(line))) return;
    lines.push(line);
    if (lines.length > keep) lines.shift();
  });
  return new Promise((resolve) => rl.on('close', () => resolve(lines)));
}

/**
 * Failure lines that say nothing about the input: the tool rejected its own command line, could not write
 * (full disk, no memory), or could not read an http(s) input (the splitter's presigned S3 URL) because the
 * network or the store failed. The input's faults (bad headers, invalid data, unsupported codec) are not here.
 */
export const INFRASTRUCTURE_LINE: readonly RegExp[] = [
  /Unrecognized option|Option not found|Error splitting the argument list|Unknown encoder|No such filter/i,
  /No space left on device|Cannot allocate memory|Disk quota exceeded|Too many open files|Read-only file system/i,
  /Server returned [45]\d\d|HTTP error [45]\d\d|Connection refused|Connection reset|Connection timed out|Failed to resolve hostname|Network is unreachable/i,
];

/**
 * Throw an `InfrastructureError` when a failed run's cause is not the input: a timeout, a kill, or one of
 * `lines` matching `INFRASTRUCTURE_LINE` (or an error about `ownOutput`, a path the caller chose). Returns
 * when the failure may be the input's fault, for the caller to report as such.
 */
export function throwIfInfrastructure(tool: string, res: RunResult, lines: readonly string[], ownOutput?: string): void {
  if (res.timedOut) {
    throw new InfrastructureError(`${tool} did not finish within ${(res.timeoutMs ?? 0) / 1000} s and was stopped; this says nothing about the file, the message is retried`);
  }
  if (res.signal !== null) {
    throw new InfrastructureError(`${tool} was killed by ${res.signal} (out of memory or time?); this says nothing about the file, the message is retried`);
  }
  const line = lines.find(
    (l) =>
      INFRASTRUCTURE_LINE.some((re) => re.test(l)) ||
      (ownOutput !== undefined && l.includes(ownOutput) && /\[(error|fatal|panic)\]|Permission denied|Could not|Cannot|No such file/i.test(l)),
  );
  if (line !== undefined) {
    throw new InfrastructureError(`${tool} failed for a reason other than the file (${line.replace(/\[[^\]]*@ 0x[0-9a-f]+\]\s*/g, '').trim()}); the message is retried`);
  }
}
