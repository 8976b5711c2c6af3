import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  maxAttemptsOf,
  retryDelayMs,
  scheduleSpanMs,
  truncateSchedule,
  verdictOf,
  WEBHOOK_RETRY_SCHEDULE_MS,
} from '../../shared/core/webhook-policy.js';

describe('webhook retry policy', () => {
  it('retries for at least 24 hours with waits that never shrink', () => {
    expect(scheduleSpanMs()).toBeGreaterThanOrEqual(24 * 3_600_000);
    for (let i = 1; i < WEBHOOK_RETRY_SCHEDULE_MS.length; i++) {
      expect(WEBHOOK_RETRY_SCHEDULE_MS[i]).toBeGreaterThanOrEqual(WEBHOOK_RETRY_SCHEDULE_MS[i - 1]!);
    }
    expect(WEBHOOK_RETRY_SCHEDULE_MS.slice(0, 4)).toEqual([5_000, 30_000, 120_000, 600_000]);
    expect(maxAttemptsOf()).toBe(12);
  });

  it('gives the wait after each failed attempt and none after the last', () => {
    expect(retryDelayMs(1)).toBe(5_000);
    expect(retryDelayMs(2)).toBe(30_000);
    expect(retryDelayMs(11)).toBe(28_800_000);
    expect(retryDelayMs(12)).toBeUndefined();
  });

  it('treats 2xx as delivered, 410 as stop, and everything else (3xx, 4xx, 5xx, no answer) as retry', () => {
    for (const s of [200, 201, 202, 204, 299]) expect(verdictOf(s)).toBe('delivered');
    expect(verdictOf(410)).toBe('stop');
    for (const s of [301, 302, 307, 308, 400, 401, 404, 408, 429, 500, 502, 503, 504]) expect(verdictOf(s)).toBe('retry');
    expect(verdictOf(undefined)).toBe('retry');
  });

  it('truncates the schedule to a time budget without exceeding it', () => {
    expect(truncateSchedule(3 * 60_000)).toEqual([5_000, 30_000, 120_000]);
    expect(truncateSchedule(0)).toEqual([]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 48 * 3_600_000 }), (budget) => {
        const s = truncateSchedule(budget);
        expect(scheduleSpanMs(s)).toBeLessThanOrEqual(budget);
        expect(s).toEqual(WEBHOOK_RETRY_SCHEDULE_MS.slice(0, s.length));
        const next = WEBHOOK_RETRY_SCHEDULE_MS[s.length];
        if (next !== undefined) expect(scheduleSpanMs(s) + next).toBeGreaterThan(budget);
      }),
    );
  });
});
