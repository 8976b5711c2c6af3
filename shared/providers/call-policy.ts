/**
 * How every model call is made: a global cap on in-flight attempts, a per-attempt timeout,
 * and retries with exponential backoff (full jitter) that yield to the server's `Retry-After`.
 * Generic over the call, so transcription and chat share one policy (and one concurrency budget).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ExponentialBackoff, fullJitterGenerator, type IBackoff } from 'cockatiel';
import pLimit from 'p-limit';
import { TransientError } from '../core/errors.js';
import type { Clock } from '../ports.js';

/** Options of `createCallPolicy`. */
export interface CallPolicyOptions {
  /** Most attempts in flight at once, across every `run`. Sleeping retries hold no slot. */
  readonly concurrency: number;
  /** Attempts per call, the first included. 1 disables retries. */
  readonly maxAttempts: number;
  /** An attempt without an answer after this long is aborted and counts as a transient failure. */
  readonly timeoutMs: number;
  /** First backoff ceiling; the n-th retry waits a random time in `[0, baseDelayMs·2ⁿ⁻¹)`. @default 500 */
  readonly baseDelayMs?: number;
  /** Ceiling of any computed backoff. @default 30_000 */
  readonly maxDelayMs?: number;
  /** Ceiling of a server-advised `Retry-After` wait, so a far-off HTTP date cannot park a worker. @default 300_000 */
  readonly maxRetryAfterMs?: number;
  /** Time source for timeouts and backoff sleeps. @default systemClock */
  readonly clock?: Clock;
  /** Called before each backoff sleep (for logs and metrics). */
  readonly onRetry?: (info: RetryInfo) => void;
}

/** What `onRetry` is told before a backoff sleep. */
export interface RetryInfo {
  readonly label: string;
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  /** How long the policy sleeps before the next attempt. */
  readonly delayMs: number;
  /** True when `delayMs` came from the server (`Retry-After`), not from the backoff. */
  readonly serverAdvised: boolean;
  readonly error: TransientError;
}

/** A shared, retrying, concurrency-capped way to make calls. */
export interface CallPolicy {
  /**
   * Run `fn` until it succeeds, a non-transient error is thrown, or `maxAttempts` is reached.
   * `fn` gets a fresh signal per attempt that aborts at the attempt timeout (or when `signal` aborts).
   * Only `TransientError` is retried. `PermanentError` (and any other error) is thrown at once.
   * After the last attempt a `TransientError` naming the attempt count is thrown, with the last
   * failure as its `cause`. `attemptsOf(err)` tells how many attempts any thrown error took.
   */
  run<T>(label: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<{ value: T; attempts: number }>;
  /** Attempts in flight now. */
  readonly active: number;
  /** Highest `active` seen since creation; never exceeds `concurrency`. */
  readonly maxActive: number;
}

/** How long the slot of a timed-out attempt stays taken after its connection was aborted. */
const ABANDON_GRACE_MS = 100;

/** An attempt that got no answer in time (transient: it is retried). */
class AttemptTimeoutError extends TransientError {}

/** Real time: `Date.now` and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }),
};

/** How many attempts the call that threw `err` made, when `err` came out of `CallPolicy.run` (the port's `attempts` property). */
export function attemptsOf(err: unknown): number | undefined {
  const attempts = typeof err === 'object' && err !== null ? (err as { attempts?: unknown }).attempts : undefined;
  return typeof attempts === 'number' ? attempts : undefined;
}

/** Build a call policy. Throws `RangeError` on nonsensical options. */
export function createCallPolicy(opts: CallPolicyOptions): CallPolicy {
  checkOptions(opts);
  const clock = opts.clock ?? systemClock;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 300_000;
  const backoff = new ExponentialBackoff({
    generator: fullJitterGenerator,
    initialDelay: opts.baseDelayMs ?? 500,
    maxDelay: opts.maxDelayMs ?? 30_000,
  });
  const limit = pLimit(opts.concurrency);
  let active = 0;
  let maxActive = 0;

  const attempt = <T>(label: string, fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> =>
    limit(async () => {
      outer?.throwIfAborted();
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        return await withTimeout(label, fn, opts.timeoutMs, clock, outer);
      } catch (err) {
        // An abandoned connection is torn down asynchronously: the server may still count it for a moment.
        // Keep its slot a little longer, so the cap holds as the server sees it, not only as we count.
        if (err instanceof AttemptTimeoutError) await delay(ABANDON_GRACE_MS);
        throw err;
      } finally {
        active -= 1;
      }
    });

  async function run<T>(label: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal) {
    let delays: IBackoff<unknown> | undefined;
    for (let n = 1; ; n += 1) {
      try {
        return { value: await attempt(label, fn, signal), attempts: n };
      } catch (err) {
        if (!(err instanceof TransientError) || signal?.aborted) throw tagged(err, n);
        if (n >= opts.maxAttempts) throw tagged(exhausted(err, n), n);
        delays = delays ? delays.next(undefined) : backoff.next();
        const serverAdvised = err.retryAfterMs !== undefined;
        const delayMs = serverAdvised ? Math.min(err.retryAfterMs ?? 0, maxRetryAfterMs) : delays.duration;
        opts.onRetry?.({ label, attempt: n, delayMs, serverAdvised, error: err });
        await clock.sleep(delayMs, signal);
      }
    }
  }

  return {
    run,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

/**
 * Race the attempt against the timeout. On timeout the attempt's signal is aborted and the attempt
 * is abandoned at once, even if `fn` ignores its signal, so a hung connection cannot keep a slot.
 */
async function withTimeout<T>(
  label: string,
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  clock: Clock,
  outer?: AbortSignal,
): Promise<T> {
  const attemptCtl = new AbortController();
  const timerCtl = new AbortController();
  const onOuterAbort = () => attemptCtl.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timedOut = clock.sleep(timeoutMs, timerCtl.signal).then(
    () => {
      const err = new AttemptTimeoutError(`${label}: no answer within ${timeoutMs} ms; attempt abandoned`);
      attemptCtl.abort(err);
      throw err;
    },
    () => new Promise<never>(() => {}), // timer cancelled: the attempt settled first
  );
  try {
    return await Promise.race([Promise.resolve().then(() => fn(attemptCtl.signal)), timedOut]);
  } finally {
    timerCtl.abort();
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

function exhausted(err: TransientError, attempts: number): TransientError {
  return new TransientError(`${err.message} (gave up after ${attempts} attempts)`, {
    cause: err,
    retryAfterMs: err.retryAfterMs,
    rateLimited: err.rateLimited,
  });
}

function tagged(err: unknown, attempts: number): unknown {
  if (typeof err === 'object' && err !== null) Object.assign(err, { attempts });
  return err;
}

function checkOptions(opts: CallPolicyOptions): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`call policy: ${name} must be an integer ≥ 1, got ${v}`);
  };
  positiveInt('concurrency', opts.concurrency);
  positiveInt('maxAttempts', opts.maxAttempts);
  if (!(opts.timeoutMs > 0)) throw new RangeError(`call policy: timeoutMs must be > 0, got ${opts.timeoutMs}`);
}
