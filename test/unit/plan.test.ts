import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minStepSeconds, planChunks, sanitizePauses } from '../../shared/core/plan.js';
import type { ChunkPlan, Pause, PlanOptions } from '../../shared/core/types.js';

const EPS = 1e-9;
const opts: PlanOptions = {
  targetSeconds: 60,
  maxSeconds: 90,
  overlapSeconds: 1,
  minPauseSeconds: 0.3,
};

const optionsArb = fc
  .record({
    target: fc.double({ min: 2, max: 120, noNaN: true }),
    maxFactor: fc.double({ min: 1, max: 3, noNaN: true }),
    overlapShare: fc.double({ min: 0, max: 0.2, noNaN: true }),
    minPause: fc.double({ min: 0, max: 1.5, noNaN: true }),
    // Speaker context (diarized jobs) in a third of the cases.
    contextShare: fc.oneof(fc.constant(0), fc.constant(0), fc.double({ min: 0, max: 0.45, noNaN: true })),
  })
  .map(
    ({ target, maxFactor, overlapShare, minPause, contextShare }): PlanOptions => ({
      targetSeconds: target,
      maxSeconds: target * maxFactor,
      overlapSeconds: Math.min(2, target * overlapShare),
      minPauseSeconds: minPause,
      ...(contextShare > 0 ? { contextSeconds: Math.min(10, target * maxFactor * contextShare) } : {}),
    }),
  );

/** Pauses anywhere (also overlapping, unsorted, out of range), sometimes sparse so forced cuts happen. */
const caseArb = fc
  .record({
    duration: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 1200, noNaN: true })),
    pauses: fc.array(
      fc.record({
        start: fc.double({ min: -5, max: 1250, noNaN: true }),
        length: fc.double({ min: 0, max: 30, noNaN: true }),
      }),
      { maxLength: 60 },
    ),
    opts: optionsArb,
  })
  .map(({ duration, pauses, opts }) => ({
    duration,
    pauses: pauses.map((p) => ({ start: p.start, end: p.start + p.length })),
    opts,
  }));

function usable(plan: ChunkPlan): Pause[] {
  return plan.pauses.filter((p) => p.end - p.start >= plan.options.minPauseSeconds);
}

/**
 * The speaker context the chunk at `i` must hear before its keep-span: `contextSeconds` (or what is left of the
 * previous chunk's span) after a cut between two chunks that are not silence; else none.
 */
function contextOf(plan: ChunkPlan, i: number): number {
  const c = plan.chunks[i];
  const prev = plan.chunks[i - 1];
  const ctx = plan.options.contextSeconds ?? 0;
  if (!c || !prev || c.startCut === 'edge' || ctx <= 0 || prev.silent || c.silent) return 0;
  return Math.min(ctx, c.keepFrom - prev.keepFrom);
}

describe('planChunks properties', () => {
  it('keep-spans tile [0, duration) exactly once, with indexes 0..n-1', () => {
    fc.assert(
      fc.property(caseArb, ({ duration, pauses, opts }) => {
        const plan = planChunks(duration, pauses, opts);
        if (duration === 0) {
          expect(plan.chunks).toEqual([]);
          return;
        }
        const chunks = plan.chunks;
        expect(chunks[0]?.keepFrom).toBe(0);
        expect(chunks.at(-1)?.keepUntil).toBe(duration);
        chunks.forEach((c, i) => {
          expect(c.index).toBe(i);
          expect(c.keepUntil).toBeGreaterThan(c.keepFrom);
          const next = chunks[i + 1];
          if (next) expect(next.keepFrom).toBe(c.keepUntil);
        });
      }),
      { numRuns: 400 },
    );
  });

  it("never lets a chunk's audio exceed maxSeconds or leave the file", () => {
    fc.assert(
      fc.property(caseArb, ({ duration, pauses, opts }) => {
        for (const c of planChunks(duration, pauses, opts).chunks) {
          expect(c.end - c.start).toBeLessThanOrEqual(opts.maxSeconds + EPS);
          expect(c.start).toBeGreaterThanOrEqual(0);
          expect(c.end).toBeLessThanOrEqual(duration);
          expect(c.start).toBeLessThanOrEqual(c.keepFrom);
          expect(c.end).toBeGreaterThanOrEqual(c.keepUntil);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('cuts at pauses only inside a pause of at least minPauseSeconds', () => {
    fc.assert(
      fc.property(caseArb, ({ duration, pauses, opts }) => {
        const plan = planChunks(duration, pauses, opts);
        for (const c of plan.chunks.filter((c) => c.endCut === 'pause')) {
          const inside = usable(plan).some((p) => p.start <= c.keepUntil && c.keepUntil <= p.end);
          expect(inside, `cut at ${c.keepUntil}`).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('forces a cut only when no usable pause reached into the window, and overlaps only there', () => {
    fc.assert(
      fc.property(caseArb, ({ duration, pauses, opts }) => {
        const plan = planChunks(duration, pauses, opts);
        const half = opts.overlapSeconds / 2;
        plan.chunks.forEach((c, i) => {
          const next = plan.chunks[i + 1];
          expect(next?.startCut ?? 'edge').toBe(c.endCut);
          if (c.endCut === 'forced') {
            const lo = c.keepFrom + minStepSeconds(opts);
            const hi = c.start + opts.maxSeconds;
            const reachable = usable(plan).filter((p) => p.start > c.keepFrom && p.start <= hi && p.end >= lo);
            expect(reachable).toEqual([]);
            expect(c.end - c.keepUntil).toBeCloseTo(half, 9);
            expect(next ? next.keepFrom - next.start : 0).toBeCloseTo(next ? Math.min(next.keepFrom, Math.max(half, contextOf(plan, i + 1))) : 0, 9);
          } else {
            expect(c.end).toBe(c.keepUntil);
          }
          if (c.startCut !== 'forced') expect(c.start).toBe(c.keepFrom - contextOf(plan, i));
        });
        expect(plan.chunks[0]?.startCut ?? 'edge').toBe('edge');
      }),
      { numRuns: 400 },
    );
  });

  it('marks exactly the chunks inside one pause as silent, and times speech outside pauses', () => {
    fc.assert(
      fc.property(caseArb, ({ duration, pauses, opts }) => {
        const plan = planChunks(duration, pauses, opts);
        for (const c of plan.chunks) {
          const inOnePause = plan.pauses.some((p) => p.start <= c.start && c.end <= p.end);
          expect(c.silent).toBe(inOnePause);
          if (c.silent) expect(c.speech).toEqual([]);
          for (const s of c.speech) {
            expect(s.start).toBeGreaterThanOrEqual(c.start);
            expect(s.end).toBeLessThanOrEqual(c.end);
            expect(s.end).toBeGreaterThan(s.start);
            expect(plan.pauses.some((p) => p.start < s.end && s.start < p.end)).toBe(false);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('planChunks', () => {
  it('plans nothing for an empty file', () => {
    expect(planChunks(0, [{ start: 0, end: 1 }], opts).chunks).toEqual([]);
  });

  it('cuts at the usable pause nearest the target, keeping silence on both sides', () => {
    const pauses = [
      { start: 20, end: 20.5 },
      { start: 45, end: 45.4 },
      { start: 59.8, end: 60.2 },
      { start: 75, end: 75.5 },
    ];
    const plan = planChunks(100, pauses, opts);
    expect(plan.chunks.map((c) => [c.start, c.end, c.startCut, c.endCut])).toEqual([
      [0, 60, 'edge', 'pause'],
      [60, 100, 'pause', 'edge'],
    ]);
  });

  it('ignores pauses shorter than minPauseSeconds', () => {
    const plan = planChunks(
      100,
      [
        { start: 59.9, end: 60.1 },
        { start: 50, end: 51 },
      ],
      opts,
    );
    expect(plan.chunks[0]?.end).toBe(50.5);
  });

  it('prefers a longer pause when two are about equally close to the target', () => {
    const plan = planChunks(
      150,
      [
        { start: 59.6, end: 60 },
        { start: 61, end: 62.6 },
      ],
      opts,
    );
    expect(plan.chunks[0]?.end).toBeCloseTo(61.8, 9);
  });

  it('forces cuts with a declared overlap where speech runs on past the limit', () => {
    const plan = planChunks(200, [], opts);
    expect(plan.chunks.map((c) => [c.start, c.end, c.keepFrom, c.keepUntil, c.endCut])).toEqual([
      [0, 60.5, 0, 60, 'forced'],
      [59.5, 120.5, 60, 120, 'forced'],
      [119.5, 200, 120, 200, 'edge'],
    ]);
  });

  it('merges a tiny last chunk into the previous one when the limit allows', () => {
    const plan = planChunks(64, [{ start: 59, end: 60 }], opts);
    expect(plan.chunks).toHaveLength(1);
    expect(plan.chunks[0]?.end).toBe(64);
  });

  it('makes one silent chunk of a silent file, several when longer than the limit', () => {
    const short = planChunks(30, [{ start: 0, end: 30 }], opts);
    expect(short.chunks.map((c) => [c.start, c.end, c.silent])).toEqual([[0, 30, true]]);
    const long = planChunks(200, [{ start: 0, end: 200 }], opts);
    expect(long.chunks.length).toBeGreaterThan(2);
    expect(long.chunks.every((c) => c.silent && c.end - c.start <= opts.maxSeconds)).toBe(true);
  });

  it('sets a long silence in the middle apart as silent chunks', () => {
    const plan = planChunks(300, [{ start: 50, end: 150 }], opts);
    expect(plan.chunks.filter((c) => c.silent).length).toBeGreaterThan(0);
    expect(plan.chunks[0]).toMatchObject({
      start: 0,
      end: 50.15,
      silent: false,
      speech: [{ start: 0, end: 50 }],
    });
  });

  it('lists speech stretches between pauses in absolute time', () => {
    const plan = planChunks(
      20,
      [
        { start: 5, end: 6 },
        { start: 12, end: 13 },
      ],
      { ...opts, targetSeconds: 30, maxSeconds: 30 },
    );
    expect(plan.chunks[0]?.speech).toEqual([
      { start: 0, end: 5 },
      { start: 6, end: 12 },
      { start: 13, end: 20 },
    ]);
  });

  it('sanitizes pauses: sorted, clamped and merged', () => {
    expect(
      sanitizePauses(
        [
          { start: 8, end: 12 },
          { start: -1, end: 1 },
          { start: 10, end: 11 },
          { start: 11.5, end: 14 },
          { start: 30, end: 30 },
          { start: 19, end: 25 },
        ],
        20,
      ),
    ).toEqual([
      { start: 0, end: 1 },
      { start: 8, end: 14 },
      { start: 19, end: 20 },
    ]);
  });

  it('fails when the options cannot produce a plan', () => {
    expect(() => planChunks(10, [], { ...opts, maxSeconds: 30 })).toThrow(RangeError);
    expect(() => planChunks(10, [], { ...opts, overlapSeconds: 50 })).toThrow(/overlap/);
  });
});
