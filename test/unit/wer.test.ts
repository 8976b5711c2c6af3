/**
 * The word error rate the benchmarks and the noise/guard tests report (test/fixtures/wer.ts): word-level edit
 * distance over the reference length, on lower-cased words without punctuation. Worked examples with known answers
 * (the classic ones from jiwer's documentation and by hand) and the properties every WER has.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wordErrorRate } from '../fixtures/wer.js';

const words = (s: string) => s.split(/\s+/).filter(Boolean);

describe('wordErrorRate', () => {
  it.each([
    ['the cat sat on the mat', 'the cat sat on the mat', 0],
    ['hello world', 'hello duck', 1 / 2], // one substitution
    ['the cat sat on the mat', 'the cat sat on mat', 1 / 6], // one deletion
    ['the cat sat', 'the black cat sat', 1 / 3], // one insertion
    ['this is the reference', 'this is the hypothesis', 1 / 4],
    ['a b c d', 'b c d e', 2 / 4], // delete a, insert e (not 4 substitutions)
    ['one two three', '', 1], // everything deleted
    ['one', 'one two three four', 3], // insertions can push WER past 1
  ])('%j vs %j', (ref, hyp, wer) => {
    expect(wordErrorRate(words(ref), words(hyp))).toBeCloseTo(wer, 10);
  });

  it('ignores case and punctuation, keeps apostrophes', () => {
    expect(wordErrorRate(words('The boats, checked the ropes.'), words('the boats checked the ropes'))).toBe(0);
    expect(wordErrorRate(words("don't stop"), words('dont stop'))).toBe(1 / 2);
    expect(wordErrorRate(words('Mister Dashwood'), words('mr dashwood'))).toBe(1 / 2);
  });

  it('an empty reference: 0 for an empty hypothesis, else 1', () => {
    expect(wordErrorRate([], [])).toBe(0);
    expect(wordErrorRate([], ['x'])).toBe(1);
  });

  it('is 0 exactly for equal sequences, and bounded by max(len) / len(ref)', () => {
    const word = fc.constantFrom('a', 'b', 'c', 'd');
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 12 }), fc.array(word, { maxLength: 12 }), (ref, hyp) => {
        const wer = wordErrorRate(ref, hyp);
        expect(wer === 0).toBe(ref.join(' ') === hyp.join(' '));
        expect(wer).toBeGreaterThanOrEqual(Math.abs(ref.length - hyp.length) / ref.length);
        expect(wer).toBeLessThanOrEqual(Math.max(ref.length, hyp.length) / ref.length);
      }),
    );
  });
});
