import { describe, expect, it } from 'vitest';
import { createMemoryQueue } from '../../shared/adapters/memory-queue.js';
import { TransientError } from '../../shared/core/errors.js';
import type { Clock } from '../../shared/ports.js';

const instantClock: Clock = { now: () => 0, sleep: async () => undefined };

describe('memory queue', () => {
  it('delivers every message once when handlers succeed, never above the concurrency', async () => {
    const seen: number[] = [];
    let active = 0;
    let maxActive = 0;
    const queue = createMemoryQueue<number>({
      concurrency: 3,
      clock: instantClock,
      onDeadLetter: async () => undefined,
      handler: async (n) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 2));
        seen.push(n);
        active -= 1;
      },
    });
    await queue.send(Array.from({ length: 20 }, (_, i) => i));
    await queue.drain();
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxActive).toBeLessThanOrEqual(3);
  });

  it('redelivers a failed message and dead-letters it after maxReceives', async () => {
    const receives = new Map<string, number>();
    const dead: string[] = [];
    const queue = createMemoryQueue<string>({
      maxReceives: 3,
      clock: instantClock,
      onDeadLetter: async (m) => {
        dead.push(m);
      },
      handler: async (m) => {
        receives.set(m, (receives.get(m) ?? 0) + 1);
        if (m === 'bad') throw new Error('boom');
        if (m === 'flaky' && receives.get(m) === 1) throw new Error('once');
      },
    });
    await queue.send(['bad', 'flaky', 'good']);
    await queue.drain();
    expect(dead).toEqual(['bad']);
    expect(receives.get('bad')).toBe(3);
    expect(receives.get('flaky')).toBe(2);
    expect(receives.get('good')).toBe(1);
  });

  it('does not count rate-limited failures as receives, and waits the advised time', async () => {
    const sleeps: number[] = [];
    const clock: Clock = { now: () => 0, sleep: async (ms) => void sleeps.push(ms) };
    let calls = 0;
    const dead: string[] = [];
    const queue = createMemoryQueue<string>({
      maxReceives: 2,
      clock,
      onDeadLetter: async (m) => void dead.push(m),
      handler: async () => {
        calls += 1;
        if (calls <= 4) throw new TransientError('429', { rateLimited: true, retryAfterMs: 1500 });
      },
    });
    await queue.send(['m']);
    await queue.drain();
    expect(dead).toEqual([]);
    expect(calls).toBe(5);
    expect(sleeps.filter((s) => s === 1500)).toHaveLength(4);
  });
});
