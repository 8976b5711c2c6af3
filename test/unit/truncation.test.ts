import { describe, expect, it } from 'vitest';
import { TRUNCATION_WARNING_PREFIX, truncationWarning, truncationWarnings } from '../../shared/core/truncation.js';

describe('truncationWarning: declared duration against decoded audio', () => {
  it('stays quiet within max(1 s, 2 %)', () => {
    expect(truncationWarning(10, 10)).toBeUndefined();
    expect(truncationWarning(10, 9.05)).toBeUndefined(); // 0.95 s short: under 1 s
    expect(truncationWarning(3600, 3530)).toBeUndefined(); // 70 s short of an hour: under 2 %
    expect(truncationWarning(10, 10.4)).toBeUndefined(); // longer than declared is not truncation
    expect(truncationWarning(Number.NaN, 5)).toBeUndefined(); // no declared duration (a streamed webm)
  });

  it('warns beyond the tolerance, naming both durations', () => {
    const w = truncationWarning(20, 9.6);
    expect(w).toMatch(new RegExp(`^${TRUNCATION_WARNING_PREFIX}: the file declares 20.0 s of audio but only 9.6 s could be decoded \\(52 % missing\\)`));
    expect(truncationWarning(3600, 3500)).toBeDefined(); // 100 s short of an hour: over 2 %
    expect(truncationWarnings(['chunk 1: something else', w!])).toEqual([w]);
  });
});
