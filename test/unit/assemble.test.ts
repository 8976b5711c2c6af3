import { describe, expect, it } from 'vitest';
import { assembleTranscript, NO_SPEECH_WARNING } from '../../shared/core/assemble.js';
import { majorityLanguage, normalizeLanguage } from '../../shared/core/language.js';
import { planChunks } from '../../shared/core/plan.js';
import type { ChunkResult, ChunkTranscript, JobManifest, Pause } from '../../shared/core/types.js';

const planOptions = {
  targetSeconds: 10,
  maxSeconds: 15,
  overlapSeconds: 1,
  minPauseSeconds: 0.3,
};

function manifest(duration: number, pauses: Pause[], overrides: Partial<JobManifest> = {}): JobManifest {
  const plan = planChunks(duration, pauses, planOptions);
  return {
    jobId: 'job-1',
    source: 'talk.mp3',
    name: 'talk',
    createdAt: '2025-01-01T00:00:00.000Z',
    options: {
      provider: 'mistral',
      model: 'voxtral-mini',
      chunkSeconds: 10,
      words: false,
      diarize: false,
      timestamps: 'auto',
    },
    probe: {
      durationSeconds: duration,
      formatName: 'mp3',
      codec: 'mp3',
      sampleRate: 16000,
      channels: 1,
      sizeBytes: 1,
    },
    plan,
    pending: plan.chunks.filter((c) => !c.silent).map((c) => c.index),
    timestamps: 'provider',
    ...overrides,
  };
}

function ok(index: number, partial: Partial<ChunkTranscript>): ChunkResult {
  return {
    status: 'ok',
    jobId: 'job-1',
    index,
    attempts: 1,
    transcript: {
      text: '',
      provider: 'mistral',
      model: 'voxtral-mini-2507',
      usage: { audioSeconds: 10 },
      ...partial,
    },
  };
}

/** 20 s of speech with one pause at 9.8-10.2 s: two chunks cut at 10 s. */
const twoChunks = () => manifest(20, [{ start: 9.8, end: 10.2 }]);

describe('assembleTranscript', () => {
  it('builds the public result shape from chunk results', () => {
    const m = twoChunks();
    expect(m.plan.chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 10],
      [10, 20],
    ]);
    const t = assembleTranscript(m, [
      ok(1, {
        text: 'Second part.',
        language: 'English',
        segments: [{ start: 0.5, end: 2.12345, text: 'Second part.' }],
        usage: { audioSeconds: 10, costUsd: 0.002 },
      }),
      ok(0, {
        text: 'First part.',
        language: 'en',
        segments: [{ start: 1 / 3, end: 4, text: 'First part.' }],
        usage: { audioSeconds: 10, costUsd: 0.001 },
        warnings: ['retried once'],
      }),
    ]);
    expect(t).toEqual({
      id: 'job-1',
      source: 'talk.mp3',
      status: 'completed',
      durationSeconds: 20,
      language: 'en',
      text: 'First part. Second part.',
      segments: [
        { id: 0, start: 0.333, end: 4, text: 'First part.' },
        { id: 1, start: 10.5, end: 12.123, text: 'Second part.' },
      ],
      chunks: [
        {
          index: 0,
          start: 0,
          end: 10,
          attempts: 1,
          provider: 'mistral',
          model: 'voxtral-mini-2507',
        },
        {
          index: 1,
          start: 10,
          end: 20,
          attempts: 1,
          provider: 'mistral',
          model: 'voxtral-mini-2507',
        },
      ],
      model: 'voxtral-mini-2507',
      usage: { audioSeconds: 20, costUsd: 0.003 },
      timestamps: 'provider',
      warnings: [
        'chunk 0: retried once',
        'chunk 0: transcribed segments cover 37% of its 9.8 s of detected speech',
        'chunk 1: transcribed segments cover 17% of its 9.8 s of detected speech',
        'incomplete: transcribed segments cover 27% of 19.6 s of detected speech (warning below 85%; see completeness)',
      ],
      completeness: {
        speechSeconds: 19.6,
        coveredSeconds: 5.29,
        ratio: 0.27,
        chunks: [
          { index: 0, speechSeconds: 9.8, coveredSeconds: 3.667, words: 2, wordsPerSecond: 0.2 },
          { index: 1, speechSeconds: 9.8, coveredSeconds: 1.623, words: 2, wordsPerSecond: 0.2 },
        ],
      },
    });
  });

  it('fails the transcript when a chunk failed, naming it, and keeps the text that succeeded', () => {
    const m = twoChunks();
    const failed: ChunkResult = {
      status: 'failed',
      jobId: 'job-1',
      index: 1,
      attempts: 5,
      provider: 'mistral',
      model: 'voxtral-mini',
      error: 'provider rejected audio (400)',
    };
    const t = assembleTranscript(m, [
      ok(0, {
        text: 'First.',
        segments: [{ start: 0, end: 1, text: 'First.' }],
      }),
      failed,
    ]);
    expect(t.status).toBe('failed');
    expect(t.error).toBe('1 of 2 chunks failed: chunk 1 (mistral): provider rejected audio (400)');
    expect(t.text).toBe('First.');
    expect(t.chunks[1]).toEqual({
      index: 1,
      start: 10,
      end: 20,
      attempts: 5,
      provider: 'mistral',
      model: 'voxtral-mini',
    });
    expect(t.warnings).not.toContain(NO_SPEECH_WARNING);
  });

  it('fails the transcript when a sent chunk has no stored result', () => {
    const t = assembleTranscript(twoChunks(), [
      ok(0, {
        text: 'First.',
        segments: [{ start: 0, end: 1, text: 'First.' }],
      }),
    ]);
    expect(t.status).toBe('failed');
    expect(t.error).toMatch(/chunk 1 \(mistral\): no result stored/);
    expect(t.chunks[1]?.attempts).toBe(0);
  });

  it('lets a success win over a failure stored for the same chunk', () => {
    const failed: ChunkResult = {
      status: 'failed',
      jobId: 'job-1',
      index: 0,
      attempts: 1,
      provider: 'mistral',
      model: 'm',
      error: 'x',
    };
    const m = manifest(5, []);
    const t = assembleTranscript(m, [ok(0, { text: 'Hi.', segments: [{ start: 0, end: 1, text: 'Hi.' }] }), failed]);
    expect(t.status).toBe('completed');
  });

  it('completes a silent file with no text and a "no speech detected" warning', () => {
    const m = manifest(30, [{ start: 0, end: 30 }]);
    expect(m.pending).toEqual([]);
    const t = assembleTranscript(m, []);
    expect(t).toMatchObject({
      status: 'completed',
      text: '',
      segments: [],
      chunks: [],
      language: null,
      model: 'voxtral-mini',
    });
    expect(t.usage).toEqual({ audioSeconds: 0 });
    expect(t.warnings).toEqual([NO_SPEECH_WARNING]);
  });

  it('leaves costUsd out when no chunk reported a cost, and times text from the cut plan when asked', () => {
    const m = manifest(20, [{ start: 9.8, end: 10.2 }], {
      timestamps: 'cut-plan',
    });
    const t = assembleTranscript(m, [ok(0, { text: 'one' }), ok(1, { text: 'two' })]);
    expect(t.usage).toEqual({ audioSeconds: 20 });
    expect(t.timestamps).toBe('cut-plan');
    expect(t.segments).toEqual([
      { id: 0, start: 0, end: 9.8, text: 'one' },
      { id: 1, start: 10.2, end: 20, text: 'two' },
    ]);
  });

  it('includes words, rounded, when every chunk had them', () => {
    const m = manifest(5, []);
    const t = assembleTranscript(m, [
      ok(0, {
        text: 'hi',
        segments: [{ start: 0.1, end: 0.5, text: 'hi' }],
        words: [{ word: 'hi', start: 0.10004, end: 0.49996 }],
      }),
    ]);
    expect(t.words).toEqual([{ word: 'hi', start: 0.1, end: 0.5 }]);
  });

  it('uses the language the user asked for over the detected one', () => {
    const m = twoChunks();
    const t = assembleTranscript({ ...m, options: { ...m.options, language: 'French' } }, [
      ok(0, { text: 'a', language: 'en' }),
      ok(1, { text: 'b', language: 'en' }),
    ]);
    expect(t.language).toBe('fr');
  });
});

describe('majorityLanguage', () => {
  it('weighs languages by audio seconds', () => {
    expect(majorityLanguage(['en', 'fr', 'fr'], [100, 30, 30])).toBe('en');
    expect(majorityLanguage(['en', 'fr', 'fr'])).toBe('fr');
  });

  it('normalizes names and regional codes before counting', () => {
    expect(majorityLanguage(['English', 'en-US', 'fr', 'fra', 'French'], [1, 1, 1, 1, 1])).toBe('fr');
    expect(normalizeLanguage(' en_GB ')).toBe('en');
    expect(normalizeLanguage('eng')).toBe('en');
    expect(normalizeLanguage('Klingon')).toBe('klingon');
  });

  it('returns null when no chunk knew its language', () => {
    expect(majorityLanguage([undefined, '', 'unknown'])).toBeNull();
    expect(majorityLanguage([])).toBeNull();
  });
});

describe('completeness', () => {
  it('counts a segment that runs across chunks (run-on speech, forced cuts) in each chunk, without false flags', () => {
    // 40 s without any pause: chunks of ≤ 10 s joined at forced cuts; each chunk hears its part of one sentence.
    const m = manifest(40, []);
    // Distinct words at 2.5 per second of the file, so the overlaps at the seams align.
    const results = m.plan.chunks.map((c) => {
      const words: string[] = [];
      for (let k = Math.ceil(c.start * 2.5); k < c.end * 2.5; k += 1) words.push(`t${k}`);
      return ok(c.index, { text: words.join(' '), segments: [{ start: 0, end: c.end - c.start, text: words.join(' ') }] });
    });
    const t = assembleTranscript(m, results);
    expect(t.completeness?.ratio).toBeGreaterThan(0.95);
    expect(t.completeness?.chunks.every((c) => c.coveredSeconds > 0.9 * c.speechSeconds && !c.suspect)).toBe(true);
    expect(t.warnings.filter((w) => /stopped early|cover/.test(w))).toEqual([]);
    expect(t.segments.some((s) => s.suspect)).toBe(false);
  });
});
