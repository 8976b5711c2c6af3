/**
 * How stages read the time: through a `Clock` (`shared/ports.ts`) the runtime passes in their deps, so a test
 * can fix it. A runtime that passes none gets the wall clock below: the one place under shared/stages that
 * reads the real time.
 */
import type { Clock } from '../ports.js';

/** The part of the Clock port stages use. */
export type StageClock = Pick<Clock, 'now'>;

/** The real time, for deps without a clock. */
export const wallClock: StageClock = { now: () => Date.now() };

/** `clock`'s current time as an ISO 8601 string (the format of every timestamp stages store). */
export function isoTime(clock: StageClock = wallClock): string {
  return new Date(clock.now()).toISOString();
}
