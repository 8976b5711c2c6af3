import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CUE_SECONDS, MAX_LINE_CHARS, renderSrt, renderTxt, renderVtt, toCues } from '../../shared/core/render.js';
import type { Segment } from '../../shared/core/types.js';

const wordArb = fc.stringMatching(/^[A-Za-z][a-z]{0,11}[.,?]?$/);
const longWordArb = fc.stringMatching(/^[a-z]{40,60}$/);

/** Segments in time order (possibly touching or overlapping a little), with any amount of text. */
const segmentsArb = fc
  .array(
    fc.record({
      gap: fc.double({ min: -0.5, max: 3, noNaN: true }),
      duration: fc.double({ min: 0, max: 40, noNaN: true }),
      words: fc.array(fc.oneof({ weight: 20, arbitrary: wordArb }, { weight: 1, arbitrary: longWordArb }), {
        minLength: 1,
        maxLength: 80,
      }),
    }),
    { maxLength: 30 },
  )
  .map((parts) => {
    let t = 0;
    let previousStart = 0;
    return parts.map(({ gap, duration, words }): Segment => {
      const start = Math.max(previousStart, t + gap);
      previousStart = start;
      t = start + duration;
      return { start, end: t, text: words.join(' ') };
    });
  });

describe('toCues properties', () => {
  it('keeps every cue within 2 lines of 42 characters and 7 s, in order, never empty, never overlapping', () => {
    fc.assert(
      fc.property(segmentsArb, (segments) => {
        const cues = toCues(segments);
        let previousEnd = 0;
        for (const c of cues) {
          const lines = c.text.split('\n');
          expect(lines.length).toBeLessThanOrEqual(2);
          for (const line of lines) {
            expect(line.trim().length).toBeGreaterThan(0);
            expect([...line].length).toBeLessThanOrEqual(MAX_LINE_CHARS);
          }
          expect(c.start).toBeGreaterThanOrEqual(previousEnd);
          expect(c.end).toBeGreaterThan(c.start);
          expect(c.end - c.start).toBeLessThanOrEqual(MAX_CUE_SECONDS + 1e-9);
          previousEnd = c.end;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every word of every segment, in order', () => {
    fc.assert(
      fc.property(segmentsArb, (segments) => {
        const fromCues = toCues(segments)
          .map((c) => c.text.replace(/\n/g, ' '))
          .join(' ');
        // Long tokens are cut into line-sized pieces, so compare without spaces.
        expect(fromCues.replace(/ /g, '')).toBe(
          segments
            .map((s) => s.text)
            .join('')
            .replace(/ /g, ''),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('toCues', () => {
  it('splits a long segment at word boundaries, timed by characters', () => {
    const text = 'aaaa '.repeat(40).trim(); // 199 characters
    const cues = toCues([{ start: 0, end: 20, text }]);
    expect(cues.length).toBeGreaterThan(2);
    expect(cues[0]?.start).toBe(0);
    expect(cues.at(-1)?.end).toBe(20);
    expect(cues.every((c) => !c.text.startsWith(' ') && !c.text.endsWith(' '))).toBe(true);
  });

  it('times split cues by word timestamps when they line up', () => {
    const words = Array.from({ length: 30 }, (_, k) => ({
      word: `word${k}`,
      start: k,
      end: k + 0.5,
    }));
    const cues = toCues([{ start: 0, end: 29.5, text: words.map((w) => w.word).join(' ') }], words);
    expect(cues[0]).toMatchObject({ start: 0, end: 6.5 });
    expect(cues[1]?.start).toBe(7);
  });

  it('stretches a short cue to half a second where the next cue leaves room', () => {
    const cues = toCues([
      { start: 1, end: 1.1, text: 'Hi.' },
      { start: 1.3, end: 2, text: 'Hello.' },
      { start: 5, end: 5.1, text: 'Bye.' },
    ]);
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [1, 1.3],
      [1.3, 2],
      [5, 5.5],
    ]);
  });

  it('balances two lines', () => {
    const cues = toCues([
      {
        start: 0,
        end: 3,
        text: 'the quick brown fox jumps over the lazy dog again',
      },
    ]);
    expect(cues[0]?.text).toBe('the quick brown fox jumps\nover the lazy dog again');
  });
});

describe('renderers', () => {
  const segments: Segment[] = [
    { start: 1, end: 2.5, text: 'Hello <world> & all.' },
    { start: 3661.2, end: 3662, text: 'Later.', speaker: 'SPEAKER_1' },
  ];

  it('renders SRT with numbered cues and comma milliseconds', () => {
    expect(renderSrt(segments)).toBe(
      '1\n00:00:01,000 --> 00:00:02,500\nHello <world> & all.\n\n2\n01:01:01,200 --> 01:01:02,000\nLater.\n\n',
    );
  });

  it('renders VTT with a header, dot milliseconds, voices and escaped markup', () => {
    expect(renderVtt(segments)).toBe(
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello &lt;world&gt; &amp; all.\n\n' +
        '01:01:01.200 --> 01:01:02.000\n<v SPEAKER_1>Later.\n\n',
    );
  });

  it('renders an empty transcript as an empty SRT and a bare VTT', () => {
    expect(renderSrt([])).toBe('');
    expect(renderVtt([])).toBe('WEBVTT\n\n');
    expect(renderTxt([])).toBe('');
  });

  it('renders TXT as paragraphs broken at pauses and speaker changes', () => {
    const txt = renderTxt([
      { start: 0, end: 1, text: 'One.', speaker: 'SPEAKER_1' },
      { start: 1.2, end: 2, text: 'Two.', speaker: 'SPEAKER_1' },
      { start: 2.1, end: 3, text: 'Three.', speaker: 'SPEAKER_2' },
      { start: 10, end: 11, text: 'Four.', speaker: 'SPEAKER_2' },
    ]);
    expect(txt).toBe('[SPEAKER_1] One. Two.\n\n[SPEAKER_2] Three.\n\n[SPEAKER_2] Four.\n');
  });

  it('renders TXT without labels when there are no speakers', () => {
    expect(
      renderTxt([
        { start: 0, end: 1, text: ' a  b ' },
        { start: 1, end: 2, text: 'c' },
      ]),
    ).toBe('a b c\n');
  });
});
