import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COPY_PART_BYTES, MAX_SINGLE_COPY_BYTES, planCopyParts } from '../../shared/adapters/s3-copy.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('multipart copy plan (UploadPartCopy ranges)', () => {
  it('covers every byte once, in order, with parts S3 accepts (5 MiB – 5 GiB, last may be smaller, ≤ 10 000)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 * 1024 * GiB }), fc.integer({ min: 1, max: 6 * GiB }), (size, partBytes) => {
        const parts = planCopyParts(size, partBytes);
        expect(parts.length).toBeLessThanOrEqual(10_000);
        expect(parts[0]!.first).toBe(0);
        expect(parts.at(-1)!.last).toBe(size - 1);
        for (const [i, p] of parts.entries()) {
          expect(p.partNumber).toBe(i + 1);
          if (i > 0) expect(p.first).toBe(parts[i - 1]!.last + 1);
          const length = p.last - p.first + 1;
          expect(length).toBeLessThanOrEqual(5 * GiB);
          if (i < parts.length - 1) expect(length).toBeGreaterThanOrEqual(5 * MiB);
        }
      }),
    );
  });

  it('a 10 GB upload is 20 parts of 512 MiB; a 5 TiB one raises the part size to stay within 10 000 parts', () => {
    const ten = planCopyParts(10 * GiB);
    expect(ten).toHaveLength(20);
    expect(ten[0]).toEqual({ partNumber: 1, first: 0, last: DEFAULT_COPY_PART_BYTES - 1 });
    expect(planCopyParts(5 * 1024 * GiB)).toHaveLength(10_000);
    expect(planCopyParts(MAX_SINGLE_COPY_BYTES + 1, 5 * GiB)).toHaveLength(2);
  });

  it('refuses what S3 cannot hold', () => {
    expect(() => planCopyParts(0)).toThrow(RangeError);
    expect(() => planCopyParts(5 * 1024 * GiB + 1)).toThrow(/5 TiB/);
  });
});
