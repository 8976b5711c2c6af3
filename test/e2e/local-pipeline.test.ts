/**
 * End to end through the embedded runtime: real ffmpeg on generated audio, the real stages and adapters,
 * provider doubles on real sockets that decode the audio they are sent. The truth is the generated word list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Word } from '../../shared/core/types.js';
import { emptyFile, pngFile, randomBytesFile, silenceFile, toneSpeechFixture } from '../fixtures/audio.js';
import { maxWordTimeError, segmentEdgeErrors, startLocalRun, transcriptWords, type LocalRun } from './local-harness.js';

const names = (words: readonly Word[]) => words.map((w) => w.word);

// 4 minutes of speech with pauses, plus two 75-second run-on stretches with no usable pause:
// the planner must cut inside pauses where it can and fall back to overlapping cuts inside the run-ons.
const SPEECH = { seed: 7, durationSeconds: 240, runOn: [{ start: 40, seconds: 75 }, { start: 150, seconds: 75 }] } as const;

describe('local pipeline, provider with timestamps (OpenAI-compatible verbose_json)', () => {
  let run: LocalRun;
  beforeAll(async () => {
    run = await startLocalRun({ vendor: 'openai-compatible', chunkSeconds: 30 });
  });
  afterAll(() => run.close());

  it('loses no word and duplicates none across pause and forced cuts, with word times within 100 ms', async () => {
    const { path, words: truth } = await toneSpeechFixture({ ...SPEECH, format: 'mp3' });
    const t = await run.transcribe(path);
    expect(t.status).toBe('completed');
    expect(t.timestamps).toBe('provider');
    expect(t.chunks.length).toBeGreaterThan(5);
    expect(transcriptWords(t)).toEqual(names(truth));
    expect(maxWordTimeError(t.words ?? [], truth)).toBeLessThan(0.1);
    expect(t.durationSeconds).toBeCloseTo(SPEECH.durationSeconds, 0);
    // Segments are ordered, non-overlapping and inside the file.
    for (const [i, s] of t.segments.entries()) {
      expect(s.id).toBe(i);
      expect(s.end).toBeGreaterThan(s.start);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(t.segments[i - 1]!.end - 1e-6);
    }
  });

  it('resumes a finished job without calling the provider again', async () => {
    const { path, words: truth } = await toneSpeechFixture({ seed: 11, durationSeconds: 60, format: 'wav' });
    const first = await run.transcribe(path);
    const callsAfterFirst = run.double.calls;
    const second = await run.transcribe(path);
    expect(run.double.calls).toBe(callsAfterFirst);
    expect(second.text).toBe(first.text);
    expect(transcriptWords(second)).toEqual(names(truth));
  });
});

describe('local pipeline on a 1-hour file', () => {
  it('keeps every one of thousands of words exactly once, within 100 ms, through ~30 chunks', async () => {
    const run = await startLocalRun({ vendor: 'openai-compatible', chunkSeconds: 120, concurrency: 8 });
    try {
      const { path, words: truth } = await toneSpeechFixture({
        seed: 60,
        durationSeconds: 3600,
        runOn: [{ start: 1000, seconds: 200 }],
        format: 'mp3',
      });
      const t = await run.transcribe(path);
      expect(t.status).toBe('completed');
      expect(t.chunks.length).toBeGreaterThanOrEqual(25);
      expect(truth.length).toBeGreaterThan(5000);
      expect(transcriptWords(t)).toEqual(names(truth));
      expect(maxWordTimeError(t.words ?? [], truth)).toBeLessThan(0.1);
    } finally {
      await run.close();
    }
  }, 300_000);
});

describe('local pipeline, provider without timestamps (vLLM serving Voxtral)', () => {
  let run: LocalRun;
  beforeAll(async () => {
    run = await startLocalRun({ vendor: 'vllm', chunkSeconds: 120 });
  });
  afterAll(() => run.close());

  it('uses ≤ 30 s cut-plan chunks and keeps every word once, segment edges within 100 ms of the speech', async () => {
    const { path, words: truth } = await toneSpeechFixture({ ...SPEECH, format: 'mp3' });
    const t = await run.transcribe(path);
    expect(t.status).toBe('completed');
    expect(t.timestamps).toBe('cut-plan');
    for (const c of t.chunks) expect(c.end - c.start).toBeLessThanOrEqual(30 + 1e-6);
    expect(transcriptWords(t)).toEqual(names(truth));
    // A segment's edges are speech edges found by the pause detector, except at forced cuts inside run-on
    // speech, where the edge is the seam itself and a word may straddle it (≤ one word's length).
    const edges = segmentEdgeErrors(t, truth);
    expect(Math.max(...edges.atPauses)).toBeLessThan(0.1);
    expect(Math.max(0, ...edges.atForcedCuts)).toBeLessThan(0.4);
    expect(edges.atPauses.length).toBeGreaterThan(edges.atForcedCuts.length);
  });
});

describe.each(['mistral', 'openrouter', 'deepinfra'] as const)('local pipeline against %s', (vendor) => {
  let run: LocalRun;
  beforeAll(async () => {
    run = await startLocalRun({ vendor, chunkSeconds: 30 });
  });
  afterAll(() => run.close());

  it('transcribes every word once, in order', async () => {
    const { path, words: truth } = await toneSpeechFixture({ seed: 3, durationSeconds: 90, runOn: [{ start: 30, seconds: 40 }], format: 'ogg' });
    const t = await run.transcribe(path);
    expect(t.status).toBe('completed');
    expect(transcriptWords(t)).toEqual(names(truth));
    expect(t.chunks.every((c) => c.provider === (vendor === 'deepinfra' ? 'deepinfra' : vendor))).toBe(true);
  });
});

describe('local pipeline under provider faults', () => {
  it('produces the same transcript with 429 / 500 / hangs / truncated bodies, never above the concurrency cap', async () => {
    const { path } = await toneSpeechFixture({ ...SPEECH, format: 'mp3' });
    const clean = await startLocalRun({ vendor: 'openai-compatible', chunkSeconds: 30, concurrency: 3 });
    const faulty = await startLocalRun({
      vendor: 'openai-compatible',
      chunkSeconds: 30,
      concurrency: 3,
      timeoutSeconds: 2,
      faults: {
        random: {
          seed: 42,
          rate: 0.35,
          faults: [{ kind: 'rate-limit', retryAfterSeconds: 1 }, { kind: 'status', status: 500 }, { kind: 'hang' }, { kind: 'truncated' }],
        },
      },
    });
    try {
      const expected = await clean.transcribe(path);
      const got = await faulty.transcribe(path);
      expect(got.status).toBe('completed');
      expect(got.segments).toEqual(expected.segments);
      expect(got.words).toEqual(expected.words);
      expect(faulty.double.calls).toBeGreaterThan(clean.double.calls);
      expect(faulty.double.maxConcurrent).toBeLessThanOrEqual(3);
      expect(got.chunks.some((c) => c.attempts > 1)).toBe(true);
    } finally {
      await clean.close();
      await faulty.close();
    }
  });

  it('fails the job with the provider message when a chunk is rejected permanently', async () => {
    const { path } = await toneSpeechFixture({ seed: 5, durationSeconds: 70, format: 'wav' });
    const run = await startLocalRun({
      vendor: 'openai-compatible',
      chunkSeconds: 30,
      faults: { byCall: { 2: { kind: 'status', status: 413, message: 'Maximum content size limit exceeded' } } },
    });
    try {
      const t = await run.transcribe(path);
      expect(t.status).toBe('failed');
      expect(t.error).toMatch(/Maximum content size limit exceeded/);
      expect(t.error).toMatch(/chunk \d/);
    } finally {
      await run.close();
    }
  });
});

describe('local pipeline on odd input', () => {
  let run: LocalRun;
  beforeAll(async () => {
    run = await startLocalRun({ vendor: 'openai-compatible', chunkSeconds: 30 });
  });
  afterAll(() => run.close());

  it.each([
    ['a video container (mp4, audio track taken)', { format: 'mp4' as const }],
    ['48 kHz stereo wav', { format: 'wav' as const, sampleRate: 48_000, channels: 2 }],
    ['opus', { format: 'opus' as const }],
    ['m4a', { format: 'm4a' as const }],
  ])('transcribes %s', async (_label, extra) => {
    const { path, words: truth } = await toneSpeechFixture({ seed: 9, durationSeconds: 45, ...extra });
    const t = await run.transcribe(path);
    expect(t.status).toBe('completed');
    expect(transcriptWords(t)).toEqual(names(truth));
    expect(maxWordTimeError(t.words ?? [], truth)).toBeLessThan(0.1);
  });

  it('completes a silence-only file with no text, a warning and no provider call', async () => {
    const calls = run.double.calls;
    const t = await run.transcribe(await silenceFile(20, 'mp3'));
    expect(t.status).toBe('completed');
    expect(t.text).toBe('');
    expect(t.warnings.join(' ')).toMatch(/no speech/i);
    expect(run.double.calls).toBe(calls);
  });

  it.each([
    ['a 0-byte file', () => emptyFile('zero.mp3')],
    ['random bytes named .mp3', () => randomBytesFile('garbage.mp3')],
    ['a PNG image', () => pngFile('cover.png')],
  ])('fails %s with a reason naming the file', async (_label, make) => {
    const path = await make();
    const t = await run.transcribe(path);
    expect(t.status).toBe('failed');
    expect(t.error).toContain(path.split('/').pop());
    expect(t.segments).toEqual([]);
  });
});
