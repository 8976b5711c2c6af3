import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planChunks } from '../../shared/core/plan.js';
import { certainChunks } from '../../shared/core/plan-stream.js';
import type { Pause, PlanOptions } from '../../shared/core/types.js';

/** Random speech: alternating speech and pause lengths, some runs with no usable pause at all. */
const timeline = fc
  .array(fc.tuple(fc.double({ min: 0.2, max: 40, noNaN: true }), fc.double({ min: 0.05, max: 6, noNaN: true })), {
    minLength: 1,
    maxLength: 120,
  })
  .map((parts) => {
    const pauses: Pause[] = [];
    let t = 0;
    for (const [speech, pause] of parts) {
      t += speech;
      pauses.push({ start: t, end: t + pause });
      t += pause;
    }
    return { pauses, duration: t + 0.5 };
  });

const options = fc.constantFrom<PlanOptions>(
  { targetSeconds: 30, maxSeconds: 45, overlapSeconds: 2, minPauseSeconds: 0.3 },
  { targetSeconds: 20, maxSeconds: 30, overlapSeconds: 2, minPauseSeconds: 0.3 },
  { targetSeconds: 120, maxSeconds: 180, overlapSeconds: 2, minPauseSeconds: 0.3 },
  // Diarized jobs: speaker context before pause cuts.
  { targetSeconds: 30, maxSeconds: 45, overlapSeconds: 2, minPauseSeconds: 0.3, contextSeconds: 10 },
  { targetSeconds: 120, maxSeconds: 180, overlapSeconds: 2, minPauseSeconds: 0.3, contextSeconds: 10 },
);

describe('certainChunks (planning while decoding)', () => {
  it('only ever returns chunks equal to the same-index chunks of the final plan', () => {
    fc.assert(
      fc.property(timeline, options, fc.double({ min: 0, max: 1, noNaN: true }), ({ pauses, duration }, opts, f) => {
        const frontier = duration * f;
        // What the detector has reported by then: ended pauses, and a silence still open at the frontier.
        const ended = pauses.filter((p) => p.end <= frontier);
        const open = pauses.find((p) => p.start < frontier && p.end > frontier);
        const certain = certainChunks({ seconds: frontier, pauses: ended, openSilenceStart: open?.start }, opts);
        const final = planChunks(duration, pauses, opts).chunks;
        expect(certain).toEqual(final.slice(0, certain.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('releases most of a long file before the end of decoding', () => {
    const pauses: Pause[] = Array.from({ length: 600 }, (_, i) => ({ start: i * 6 + 5, end: i * 6 + 5.8 }));
    const opts: PlanOptions = { targetSeconds: 120, maxSeconds: 180, overlapSeconds: 2, minPauseSeconds: 0.3 };
    const final = planChunks(3600, pauses, opts).chunks;
    const certain = certainChunks({ seconds: 1800, pauses: pauses.filter((p) => p.end <= 1800) }, opts);
    expect(certain.length).toBeGreaterThan(final.length / 2 - 4);
  });
});
