/** A manual clock for policy tests: sleeps resolve only when the test advances time. */
import type { Clock } from '../../shared/ports.js';

interface Timer {
  readonly at: number;
  readonly resolve: () => void;
}

/** `Clock` whose time moves only through `advance` / `runUntilSettled`. */
export class FakeClock implements Clock {
  private time = 0;
  private readonly timers = new Set<Timer>();
  /** Every duration passed to `sleep`, in call order. */
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = {
        at: this.time + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers.delete(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.add(timer);
    });
  }

  /** Pending sleeps. */
  get pending(): number {
    return this.timers.size;
  }

  /** Move time to the earliest pending sleep due within `maxStepMs` and wake it. False when none is. */
  fireNext(maxStepMs = Number.POSITIVE_INFINITY): boolean {
    const next = [...this.timers].sort((a, b) => a.at - b.at)[0];
    if (!next || next.at - this.time > maxStepMs) return false;
    this.timers.delete(next);
    this.time = Math.max(this.time, next.at);
    next.resolve();
    return true;
  }

  /**
   * Wake sleeps one by one, letting real I/O run in between, until `promise` settles. Sleeps longer
   * than `maxStepMs` (e.g. attempt timeouts while a real request is in flight) are left alone.
   */
  async runUntilSettled<T>(promise: Promise<T>, maxStepMs = Number.POSITIVE_INFINITY): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    while (!settled) {
      await new Promise((r) => setTimeout(r, 1));
      if (!settled) this.fireNext(maxStepMs);
    }
    return watched;
  }
}
