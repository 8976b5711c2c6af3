/** The content guard's checks on their own: loops, early stops, text over silence, sparse text. */
import { describe, expect, it } from 'vitest';
import { findLoop, inspectTranscript, severity } from '../../shared/core/content-guard.js';
import type { ChunkTranscript } from '../../shared/core/types.js';

const base = { provider: 'p', model: 'm', usage: { audioSeconds: 30 } } as const;
const chunk = { start: 100, end: 130, speech: [{ start: 100.5, end: 114 }, { start: 115, end: 129.5 }], timed: true };
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

describe('content guard', () => {
  it('finds loops: a phrase back to back, a word said over and over', () => {
    expect(findLoop('thank you for watching thank you for watching thank you for watching'.split(' '))).toMatch(/×3/);
    expect(findLoop('no no no no no no no no'.split(' '))).toMatch(/"no" ×8/);
  });

  it('lets speech repeat as speech does', () => {
    expect(findLoop('no no no I said no'.split(' '))).toBeUndefined();
    expect(findLoop('we will we will rock you'.split(' '))).toBeUndefined();
    expect(findLoop(words(200).split(' '))).toBeUndefined();
  });

  it('passes a transcript whose text runs to the end of the speech', () => {
    const t: ChunkTranscript = { ...base, text: words(60), segments: [{ start: 0.5, end: 14, text: words(30) }, { start: 15, end: 29.4, text: words(30) }] };
    expect(inspectTranscript(t, chunk)).toEqual([]);
  });

  it('flags an early stop: the text ends with much speech left', () => {
    const t: ChunkTranscript = { ...base, text: words(20), segments: [{ start: 0.5, end: 9, text: words(20) }] };
    expect(inspectTranscript(t, chunk)).toEqual([{ kind: 'early-stop', detail: expect.stringMatching(/text ends at 109\.0 s/) }]);
  });

  it('flags text over silence', () => {
    const quiet = { ...chunk, speech: [{ start: 100.5, end: 110 }] };
    const t: ChunkTranscript = {
      ...base,
      text: `${words(20)} thanks for watching`,
      segments: [{ start: 0.5, end: 9.8, text: words(20) }, { start: 20, end: 24, text: 'thanks for watching' }],
    };
    expect(inspectTranscript(t, quiet).map((f) => f.kind)).toEqual(['over-silence']);
  });

  it('without timestamps, flags far too few words for the speech', () => {
    const t: ChunkTranscript = { ...base, text: words(5) };
    expect(inspectTranscript(t, { ...chunk, timed: false }).map((f) => f.kind)).toEqual(['sparse']);
    expect(inspectTranscript({ ...base, text: words(60) }, { ...chunk, timed: false })).toEqual([]);
  });

  it('ranks a loop worse than an early stop', () => {
    expect(severity([{ kind: 'loop', detail: '' }])).toBeGreaterThan(severity([{ kind: 'early-stop', detail: '' }]));
  });
});
