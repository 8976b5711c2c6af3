import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planChunks } from '../../shared/core/plan.js';
import { type StitchInput, stitchChunks } from '../../shared/core/stitch.js';
import type { ChunkTranscript, Pause, PlannedChunk, Segment, Word } from '../../shared/core/types.js';

function transcript(partial: Partial<ChunkTranscript>): ChunkTranscript {
  return {
    text: '',
    provider: 'test',
    model: 'm',
    usage: { audioSeconds: 0 },
    ...partial,
  };
}

function chunk(partial: Partial<PlannedChunk> & { start: number; end: number }): PlannedChunk {
  return {
    index: 0,
    keepFrom: partial.start,
    keepUntil: partial.end,
    startCut: 'edge',
    endCut: 'edge',
    silent: false,
    speech: [{ start: partial.start, end: partial.end }],
    ...partial,
  };
}

/**
 * Words 0.4 s long, each after a gap (0.1 s within a phrase, longer between phrases); texts are unique so
 * "exactly once" is checkable.
 */
function spokenWords(ids: readonly number[], gaps: readonly number[] = []): Word[] {
  let t = 0;
  return ids.map((id, k) => {
    t += gaps[k] ?? 0.1;
    const w = { word: `w${id}`, start: t, end: t + 0.4 };
    t += 0.4;
    return w;
  });
}

/** The gaps between words that silence detection would report. */
function pausesBetween(words: readonly Word[], end: number): Pause[] {
  const pauses: Pause[] = [];
  let t = 0;
  for (const w of [...words, { word: '', start: end, end }]) {
    if (w.start - t >= 0.3) pauses.push({ start: t, end: w.start });
    t = w.end;
  }
  return pauses;
}

type Mode = 'words' | 'segments' | 'text';

/**
 * What a provider hears in each chunk: every word whose midpoint lies in the chunk's audio, so the words
 * of a forced overlap arrive in both neighbours. Times are chunk-relative, as providers return them.
 */
function hear(chunks: readonly PlannedChunk[], words: readonly Word[], mode: Mode): StitchInput[] {
  return chunks.map((c) => {
    const heard = words
      .filter((w) => (w.start + w.end) / 2 >= c.start && (w.start + w.end) / 2 < c.end)
      .map((w) => ({
        word: w.word,
        start: w.start - c.start,
        end: w.end - c.start,
      }));
    const text = heard.map((w) => w.word).join(' ');
    if (mode === 'text' || heard.length === 0) return { chunk: c, transcript: transcript({ text }) };
    const segments: Segment[] = [];
    for (let k = 0; k < heard.length; k += 5) {
      const part = heard.slice(k, k + 5);
      segments.push({
        start: (part[0] as Word).start,
        end: (part.at(-1) as Word).end,
        text: part.map((w) => w.word).join(' '),
      });
    }
    return {
      chunk: c,
      transcript: transcript({
        text,
        segments,
        words: mode === 'words' ? heard : undefined,
      }),
    };
  });
}

const stitchCase = fc.record({
  ids: fc.uniqueArray(fc.integer({ min: 0, max: 99_999 }), {
    minLength: 1,
    maxLength: 300,
    size: 'max',
  }),
  target: fc.double({ min: 8, max: 40, noNaN: true }),
  overlap: fc.double({ min: 0.5, max: 3, noNaN: true }),
});

/** Like `stitchCase`, with phrase breaks (pauses) at random places, so pause cuts, forced cuts and silence mix. */
const pausedCase = fc.record({
  ids: fc.uniqueArray(fc.integer({ min: 0, max: 99_999 }), {
    minLength: 1,
    maxLength: 300,
    size: 'max',
  }),
  gaps: fc.array(fc.constantFrom(0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 1.2, 12), {
    maxLength: 300,
    size: 'max',
  }),
  target: fc.double({ min: 8, max: 40, noNaN: true }),
  overlap: fc.double({ min: 0.5, max: 3, noNaN: true }),
  // Speaker context before pause cuts (diarized jobs) in half of the cases.
  context: fc.oneof(fc.constant(0), fc.double({ min: 1, max: 10, noNaN: true })),
});

function words(result: { segments: readonly Segment[] }): string[] {
  return result.segments.flatMap((s) => s.text.split(' '));
}

describe('stitchChunks properties', () => {
  for (const mode of ['words', 'segments', 'text'] as const) {
    it(`never drops or duplicates a word across forced overlaps (${mode})`, () => {
      fc.assert(
        fc.property(stitchCase, ({ ids, target, overlap }) => {
          const spoken = spokenWords(ids);
          const duration = spoken.length * 0.5;
          const plan = planChunks(duration, [], {
            targetSeconds: target,
            maxSeconds: target * 1.2,
            overlapSeconds: overlap,
            minPauseSeconds: 0.3,
          });
          const timing = mode === 'text' ? 'cut-plan' : 'provider';
          const result = stitchChunks(hear(plan.chunks, spoken, mode), {
            timing,
          });
          // Compared as strings: array diffs of hundreds of words make shrinking crawl.
          const expected = spoken.map((w) => w.word).join(' ');
          expect(words(result).join(' ')).toBe(expected);
          if (mode === 'words') expect(result.words?.map((w) => w.word).join(' ')).toBe(expected);
          result.segments.forEach((s, k) => {
            expect(s.end).toBeGreaterThanOrEqual(s.start);
            if (k > 0) expect(s.start).toBeGreaterThanOrEqual((result.segments[k - 1] as Segment).end);
          });
        }),
        { numRuns: 200 },
      );
    });
  }

  for (const mode of ['words', 'segments', 'text'] as const) {
    it(`never drops or duplicates a word when pauses, forced cuts and silent chunks mix (${mode})`, () => {
      fc.assert(
        fc.property(pausedCase, ({ ids, gaps, target, overlap, context }) => {
          const spoken = spokenWords(ids, gaps);
          const duration = (spoken.at(-1) as Word).end + 1;
          const plan = planChunks(duration, pausesBetween(spoken, duration), {
            targetSeconds: target,
            maxSeconds: target * 1.2,
            overlapSeconds: overlap,
            minPauseSeconds: 0.3,
            ...(context > 0 ? { contextSeconds: Math.min(context, target * 0.5) } : {}),
          });
          const sent = plan.chunks.filter((c) => !c.silent);
          const result = stitchChunks(hear(sent, spoken, mode), {
            timing: mode === 'text' ? 'cut-plan' : 'provider',
          });
          expect(words(result).join(' ')).toBe(spoken.map((w) => w.word).join(' '));
        }),
        { numRuns: 200 },
      );
    });
  }

  it('stitches chunks given in any order', () => {
    fc.assert(
      fc.property(stitchCase, fc.integer(), ({ ids, target, overlap }, seed) => {
        const spoken = spokenWords(ids);
        const plan = planChunks(spoken.length * 0.5, [], {
          targetSeconds: target,
          maxSeconds: target * 1.2,
          overlapSeconds: overlap,
          minPauseSeconds: 0.3,
        });
        const inputs = hear(plan.chunks, spoken, 'text');
        const shuffled = [...inputs].sort(
          (a, b) => ((a.chunk.index * 7919 + seed) % 13) - ((b.chunk.index * 7919 + seed) % 13),
        );
        expect(stitchChunks(shuffled, { timing: 'cut-plan' })).toEqual(stitchChunks(inputs, { timing: 'cut-plan' }));
      }),
      { numRuns: 50 },
    );
  });
});

describe('stitchChunks with provider timestamps', () => {
  it('shifts chunk-relative times by the chunk start', () => {
    const c = chunk({ index: 1, start: 100, end: 130 });
    const result = stitchChunks(
      [
        {
          chunk: c,
          transcript: transcript({
            text: 'hello there.',
            segments: [{ start: 1, end: 2.5, text: 'hello there.' }],
          }),
        },
      ],
      { timing: 'provider' },
    );
    expect(result.segments).toEqual([{ start: 101, end: 102.5, text: 'hello there.' }]);
    expect(result.words).toBeUndefined();
  });

  it('keeps each overlapping word on the side its midpoint falls in', () => {
    const a = chunk({
      index: 0,
      start: 0,
      end: 11,
      keepUntil: 10,
      endCut: 'forced',
    });
    const b = chunk({
      index: 1,
      start: 9,
      end: 20,
      keepFrom: 10,
      startCut: 'forced',
    });
    const aWords = [
      { word: 'one', start: 8, end: 8.8 },
      { word: 'two', start: 9.2, end: 9.9 },
      { word: 'three', start: 10.0, end: 10.8 },
    ];
    const bWords = [
      { word: 'two', start: 0.2, end: 0.9 },
      { word: 'three', start: 1.0, end: 1.8 },
      { word: 'four', start: 2, end: 2.5 },
    ];
    const result = stitchChunks(
      [
        {
          chunk: a,
          transcript: transcript({
            text: 'one two three',
            words: aWords,
            segments: [{ start: 8, end: 10.8, text: 'One two three' }],
          }),
        },
        {
          chunk: b,
          transcript: transcript({
            text: 'two three four.',
            words: bWords,
            segments: [{ start: 0.2, end: 2.5, text: 'two three four.' }],
          }),
        },
      ],
      { timing: 'provider' },
    );
    expect(result.words?.map((w) => w.word)).toEqual(['one', 'two', 'three', 'four']);
    // "One two" ends at the seam without a full stop, so the cut-split sentence is joined again.
    expect(result.segments).toEqual([{ start: 8, end: 11.5, text: 'One two three four.' }]);
  });

  it('keeps segments apart at a seam when the first ends a sentence', () => {
    const a = chunk({
      index: 0,
      start: 0,
      end: 11,
      keepUntil: 10,
      endCut: 'forced',
    });
    const b = chunk({
      index: 1,
      start: 9,
      end: 20,
      keepFrom: 10,
      startCut: 'forced',
    });
    const result = stitchChunks(
      [
        {
          chunk: a,
          transcript: transcript({
            text: 'Stop here.',
            segments: [{ start: 8, end: 9.9, text: 'Stop here.' }],
          }),
        },
        {
          chunk: b,
          transcript: transcript({
            text: 'here. Go on',
            segments: [
              { start: 0, end: 0.9, text: 'here.' },
              { start: 1.1, end: 3, text: 'Go on' },
            ],
          }),
        },
      ],
      { timing: 'provider' },
    );
    expect(result.segments.map((s) => s.text)).toEqual(['Stop here.', 'Go on']);
  });

  it('times a chunk without segments from the cut plan and says so', () => {
    const c = chunk({
      index: 3,
      start: 10,
      end: 20,
      speech: [{ start: 11, end: 19 }],
    });
    const result = stitchChunks([{ chunk: c, transcript: transcript({ text: 'no timestamps here' }) }], {
      timing: 'provider',
    });
    expect(result.segments).toEqual([{ start: 11, end: 19, text: 'no timestamps here' }]);
    expect(result.warnings).toEqual(['chunk 3: provider returned no timestamps; timed from the cut plan']);
  });

  it('builds segments from words when the provider sent no segments', () => {
    const c = chunk({ start: 0, end: 10 });
    const ws = [
      { word: 'Hi.', start: 0.1, end: 0.4 },
      { word: 'How', start: 0.6, end: 0.8 },
      { word: 'are', start: 0.8, end: 0.9 },
      { word: 'you?', start: 0.9, end: 1.2 },
    ];
    const result = stitchChunks(
      [
        {
          chunk: c,
          transcript: transcript({ text: 'Hi. How are you?', words: ws }),
        },
      ],
      { timing: 'provider' },
    );
    expect(result.segments).toEqual([
      { start: 0.1, end: 0.4, text: 'Hi.' },
      { start: 0.6, end: 1.2, text: 'How are you?' },
    ]);
    expect(result.words).toHaveLength(4);
  });

  it('leaves words out when one chunk has none', () => {
    const a = chunk({ index: 0, start: 0, end: 10, endCut: 'pause' });
    const b = chunk({ index: 1, start: 10, end: 20, startCut: 'pause' });
    const result = stitchChunks(
      [
        {
          chunk: a,
          transcript: transcript({
            text: 'a',
            segments: [{ start: 1, end: 2, text: 'a' }],
            words: [{ word: 'a', start: 1, end: 2 }],
          }),
        },
        {
          chunk: b,
          transcript: transcript({
            text: 'b',
            segments: [{ start: 1, end: 2, text: 'b' }],
          }),
        },
      ],
      { timing: 'provider' },
    );
    expect(result.words).toBeUndefined();
    expect(result.segments.map((s) => s.text)).toEqual(['a', 'b']);
  });

  it('keeps the speaker of provider segments', () => {
    const c = chunk({ start: 0, end: 10 });
    const result = stitchChunks(
      [
        {
          chunk: c,
          transcript: transcript({
            text: 'x',
            segments: [{ start: 0, end: 1, text: 'x', speaker: 'SPEAKER_1' }],
          }),
        },
      ],
      { timing: 'provider' },
    );
    expect(result.segments[0]?.speaker).toBe('SPEAKER_1');
  });
});

describe('stitchChunks with cut-plan timing', () => {
  it('times text-only chunks as one segment from the first speech start to the last speech end', () => {
    const c = chunk({
      start: 0,
      end: 30,
      speech: [
        { start: 0.5, end: 10 },
        { start: 11, end: 29 },
      ],
    });
    const text = 'One two three. Four five six seven eight nine ten eleven twelve.';
    const result = stitchChunks([{ chunk: c, transcript: transcript({ text }) }], { timing: 'cut-plan' });
    expect(result.segments).toEqual([{ start: 0.5, end: 29, text }]);
  });

  it('ignores provider timestamps when the job is timed from the cut plan', () => {
    const c = chunk({ start: 5, end: 10 });
    const result = stitchChunks(
      [
        {
          chunk: c,
          transcript: transcript({
            text: 'hello',
            segments: [{ start: 0, end: 1, text: 'hello' }],
          }),
        },
      ],
      { timing: 'cut-plan' },
    );
    expect(result.segments).toEqual([{ start: 5, end: 10, text: 'hello' }]);
    expect(result.warnings).toEqual([]);
  });

  it('drops the duplicate of an overlap despite case, punctuation and words clipped by the cut', () => {
    const a = chunk({
      index: 0,
      start: 0,
      end: 21,
      keepUntil: 20,
      endCut: 'forced',
    });
    const b = chunk({
      index: 1,
      start: 19,
      end: 40,
      keepFrom: 20,
      startCut: 'forced',
    });
    const result = stitchChunks(
      [
        {
          chunk: a,
          transcript: transcript({
            text: 'and then we went to the market, tomor',
          }),
        },
        {
          chunk: b,
          transcript: transcript({
            text: 'ket tomorrow The Market tomorrow morning we left.',
          }),
        },
      ],
      { timing: 'cut-plan' },
    );
    // The matched run "the market" is kept once: its first half from a, its second half from b.
    expect(result.segments.map((s) => s.text).join(' ')).toBe(
      'and then we went to the Market tomorrow morning we left.',
    );
    expect(result.warnings).toEqual([]);
  });

  it('keeps both sides and warns when an overlap cannot be aligned', () => {
    const a = chunk({
      index: 0,
      start: 0,
      end: 21,
      keepUntil: 20,
      endCut: 'forced',
    });
    const b = chunk({
      index: 1,
      start: 19,
      end: 40,
      keepFrom: 20,
      startCut: 'forced',
    });
    const result = stitchChunks(
      [
        { chunk: a, transcript: transcript({ text: 'first part' }) },
        { chunk: b, transcript: transcript({ text: 'second part.' }) },
      ],
      { timing: 'cut-plan' },
    );
    expect(result.segments.map((s) => s.text).join(' ')).toBe('first part second part.');
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/not aligned/);
  });

  it('clips cut-plan segments to the keep span so neighbours do not overlap', () => {
    const a = chunk({
      index: 0,
      start: 0,
      end: 21,
      keepUntil: 20,
      endCut: 'forced',
    });
    const b = chunk({
      index: 1,
      start: 19,
      end: 40,
      keepFrom: 20,
      startCut: 'forced',
    });
    const result = stitchChunks(
      [
        {
          chunk: a,
          transcript: transcript({ text: 'It was late. alpha beta' }),
        },
        { chunk: b, transcript: transcript({ text: 'alpha beta gamma.' }) },
      ],
      { timing: 'cut-plan' },
    );
    expect(result.segments).toEqual([{ start: 0, end: 40, text: 'It was late. alpha beta gamma.' }]);
  });
});
