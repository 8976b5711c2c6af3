import pLimit from 'p-limit';
import { TransientError } from '../core/errors.js';
import type { Clock, WorkQueue } from '../ports.js';

/** Options of the in-process queue. */
export interface MemoryQueueOptions<T> {
  /** Runs one message. A throw means "not done": the message is delivered again. */
  readonly handler: (message: T) => Promise<unknown>;
  /** Messages handled at once. @default 8 */
  readonly concurrency?: number;
  /** Deliveries before a message goes to `onDeadLetter` (like an SQS redrive policy). @default 3 */
  readonly maxReceives?: number;
  /** Wait before a failed message is delivered again, unless the error advises one. @default 1000 */
  readonly redeliveryDelayMs?: number;
  /** Called with messages that failed `maxReceives` times, and the last error. */
  readonly onDeadLetter: (message: T, error: unknown) => Promise<void>;
  readonly clock: Clock;
}

/** An in-process WorkQueue that also drives its consumer; `drain()` resolves when nothing is queued or running. */
export interface MemoryQueue<T> extends WorkQueue<T> {
  drain(): Promise<void>;
}

/**
 * In-process queue with the delivery semantics the SQS path has: at-least-once, redelivery after a
 * failure, a receive limit, a dead-letter hand-off. A rate-limited failure (`TransientError.rateLimited`)
 * is delivered again after its Retry-After without counting as a receive, as the SQS transcriber
 * does by changing message visibility.
 */
export function createMemoryQueue<T>(opts: MemoryQueueOptions<T>): MemoryQueue<T> {
  const limit = pLimit(opts.concurrency ?? 8);
  const maxReceives = opts.maxReceives ?? 3;
  const inFlight = new Set<Promise<void>>();
  let idle: (() => void)[] = [];

  const settleIfIdle = () => {
    if (inFlight.size > 0) return;
    const waiters = idle;
    idle = [];
    for (const resolve of waiters) resolve();
  };

  const deliver = (message: T, receives: number, delayMs: number): void => {
    const run = (async () => {
      if (delayMs > 0) await opts.clock.sleep(delayMs);
      await limit(async () => {
        try {
          await opts.handler(message);
        } catch (err) {
          const rateLimited = err instanceof TransientError && err.rateLimited;
          const count = rateLimited ? receives : receives + 1;
          if (count >= maxReceives) return opts.onDeadLetter(message, err);
          const advised = err instanceof TransientError ? err.retryAfterMs : undefined;
          deliver(message, count, advised ?? opts.redeliveryDelayMs ?? 1000);
        }
      });
    })().catch((err: unknown) => {
      // Only a failing onDeadLetter lands here; the message is lost to this run, so say so loudly.
      process.emitWarning(`voxpipe queue: dead-letter handler failed: ${String(err)}`);
    });
    inFlight.add(run);
    void run.then(() => {
      inFlight.delete(run);
      settleIfIdle();
    });
  };

  return {
    async send(messages) {
      for (const message of messages) deliver(message, 0, 0);
    },
    drain() {
      if (inFlight.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
