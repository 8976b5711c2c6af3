/**
 * When to retry a webhook and how long to wait. Pure: no clock, no network.
 *
 * The schedule follows the common Standard Webhooks practice (Svix, Stripe): quick retries for a blip,
 * then hours apart so a receiver that is down for a day still gets every event.
 */

/**
 * Waits between attempts, in milliseconds: the n-th entry is slept after the n-th failed attempt.
 * 12 attempts in all (the first is immediate), spanning 31 h 42 m 35 s — more than the 24 h promised.
 */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, // 5 s
  30_000, // 30 s
  120_000, // 2 min
  600_000, // 10 min
  1_800_000, // 30 min
  3_600_000, // 1 h
  7_200_000, // 2 h
  14_400_000, // 4 h
  28_800_000, // 8 h
  28_800_000, // 8 h
  28_800_000, // 8 h
];

/** What a receiver's answer means for the delivery. */
export type AttemptVerdict = 'delivered' | 'stop' | 'retry';

/**
 * Classify one attempt. 2xx: delivered. 410 Gone: the receiver asked us to stop (no retry, no
 * dead letter). Anything else — other 4xx, 5xx, 3xx (redirects are never followed), a timeout or
 * a connection error (`status` undefined) — is retried.
 */
export function verdictOf(status: number | undefined): AttemptVerdict {
  if (status === undefined) return 'retry';
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'stop';
  return 'retry';
}

/** Wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed; undefined when attempts are used up. */
export function retryDelayMs(attempt: number, schedule: readonly number[] = WEBHOOK_RETRY_SCHEDULE_MS): number | undefined {
  return schedule[attempt - 1];
}

/** Total attempts a schedule allows, the first included. */
export function maxAttemptsOf(schedule: readonly number[] = WEBHOOK_RETRY_SCHEDULE_MS): number {
  return schedule.length + 1;
}

/** Time from the first attempt to the last one, in milliseconds (attempt durations not counted). */
export function scheduleSpanMs(schedule: readonly number[] = WEBHOOK_RETRY_SCHEDULE_MS): number {
  return schedule.reduce((sum, ms) => sum + ms, 0);
}

/**
 * The longest prefix of `schedule` whose waits add up to at most `budgetMs`. The local CLI uses it so
 * a run ends within minutes instead of retrying for a day.
 */
export function truncateSchedule(budgetMs: number, schedule: readonly number[] = WEBHOOK_RETRY_SCHEDULE_MS): number[] {
  const out: number[] = [];
  let total = 0;
  for (const ms of schedule) {
    if (total + ms > budgetMs) break;
    total += ms;
    out.push(ms);
  }
  return out;
}
