import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../shared/core/chat-tokens.js';
import { mapReduceSummary, packLines, type SummaryStep, summaryLimits, timestampedLine } from '../../shared/core/summary-map-reduce.js';
import { summaryMessages } from '../../shared/core/summary-prompts.js';

const lines = fc.array(fc.string({ minLength: 1, maxLength: 2_000 }), { minLength: 1, maxLength: 400 });

describe('mapReduceSummary', () => {
  it('never sends a call more than the context, whatever the transcript length', async () => {
    await fc.assert(
      fc.asyncProperty(lines, fc.integer({ min: 1_500, max: 20_000 }), fc.integer({ min: 1, max: 4 }), async (input, contextTokens, verbosity) => {
        const calls: { step: SummaryStep; tokens: number }[] = [];
        await mapReduceSummary(input, { contextTokens }, async (text, step, replyTokens) => {
          const prompt = summaryMessages(text, step, 'custom prompt');
          const tokens = prompt.reduce((s, m) => s + estimateTokens(m.content) + 4, 0) + replyTokens;
          calls.push({ step, tokens });
          // A chatty model: replies up to `verbosity` × the allowed size (clipped before the next level).
          return 'w '.repeat(Math.ceil((replyTokens * 3 * verbosity) / 2));
        });
        for (const c of calls) expect(c.tokens).toBeLessThanOrEqual(contextTokens);
        expect(calls.filter((c) => c.step === 'whole' || c.step === 'final')).toHaveLength(1);
        expect(calls.at(-1)?.step).toMatch(/whole|final/);
      }),
      { numRuns: 40 },
    );
  });

  it('makes one call when the transcript fits, and map + reduce levels when it does not', async () => {
    const steps = async (n: number) => {
      const seen: SummaryStep[] = [];
      await mapReduceSummary(Array.from({ length: n }, (_, i) => timestampedLine(i * 5, 'some words spoken here')), { contextTokens: 2_000 }, async (_t, step) => {
        seen.push(step);
        return 'a short summary';
      });
      return seen;
    };
    expect(await steps(10)).toEqual(['whole']);
    const long = await steps(2_000);
    expect(long.filter((s) => s === 'section').length).toBeGreaterThan(10);
    expect(long.at(-1)).toBe('final');
  });

  it('passes the custom prompt to the final call only', () => {
    expect(summaryMessages('x', 'final', 'List action items')[0]!.content).toContain('List action items');
    expect(summaryMessages('x', 'section', 'List action items')[0]!.content).not.toContain('List action items');
  });
});

describe('packLines', () => {
  it('keeps all the text, in order, in pieces within the budget', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 3_000 }).map((s) => s.replace(/\s+/g, ' ').trim() || 'x'), { maxLength: 50 }), fc.integer({ min: 10, max: 2_000 }), (input, max) => {
        const packed = packLines(input, max);
        for (const p of packed) expect(estimateTokens(p)).toBeLessThanOrEqual(max);
        expect(packed.join(' ').replace(/\s+/g, '')).toBe(input.join('').replace(/\s+/g, ''));
      }),
    );
  });

  it('formats timestamps as [hh:mm:ss]', () => {
    expect(timestampedLine(3_725.9, 'hi')).toBe('[01:02:05] hi');
  });

  it('fails on a context too small to hold the instructions', () => {
    expect(() => summaryLimits({ contextTokens: 500 })).toThrow(/too small/);
  });
});
