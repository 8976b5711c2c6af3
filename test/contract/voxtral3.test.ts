/**
 * Voxtral 3 through the Mistral transcriber, against a double that refuses what Voxtral 3 refuses:
 * `word` granularity (400), diarization without `segment` (400), audio + context_bias over 65,536 tokens (400).
 */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/core/errors.js';
import type { TranscribeRequest } from '../../shared/ports.js';
import { createMistralTranscriber, estimateWords, isVoxtral3, requestTokens } from '../../shared/providers/mistral.js';
import { recognizeByDuration } from '../doubles/fake-recognizer.js';
import { headerOnlyFlac } from '../doubles/flac.js';
import { type FaultPlan, type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';

const AUDIO = headerOnlyFlac(10);

function request(over: Partial<TranscribeRequest> = {}): TranscribeRequest {
  return { audio: AUDIO, durationSeconds: 10, label: 'job v3 chunk 0', ...over };
}

async function withMistral(fn: (double: ProviderDouble) => Promise<void>, faults?: FaultPlan): Promise<void> {
  const double = await startProviderDouble({ vendor: 'mistral', recognize: recognizeByDuration, faults });
  try {
    await fn(double);
  } finally {
    await double.close();
  }
}

describe('Voxtral 3 models', () => {
  it('knows the model names and aliases', () => {
    for (const m of ['voxtral-mini-transcribe-3', 'voxtral-small-transcribe-3', 'voxtral-mini-transcribe-latest', 'voxtral-small-transcribe-latest', 'voxtral-mini-transcribe-3-0']) {
      expect(isVoxtral3(m), m).toBe(true);
    }
    for (const m of ['voxtral-mini-latest', 'voxtral-mini-2602', 'voxtral-small-latest', 'voxtral-mini-transcribe-realtime-3']) {
      expect(isVoxtral3(m), m).toBe(false);
    }
  });

  it('never asks a Voxtral 3 model for word timestamps; words are estimated inside segments and marked', async () => {
    await withMistral(async (double) => {
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-transcribe-3' });
      expect(t.capabilities.words).toBe(false);

      const result = await t.transcribe(request({ words: true }), AbortSignal.timeout(10_000));

      expect(double.requests).toHaveLength(1);
      expect(double.requests[0]?.body?.timestamp_granularities).toEqual(['segment']);
      expect(result.words).toHaveLength(12);
      expect(result.words?.every((w) => w.estimated === true)).toBe(true);
      // Each estimated word lies inside the segment it came from.
      for (const w of result.words ?? []) {
        expect(result.segments?.some((s) => w.start >= s.start - 1e-9 && w.end <= s.end + 1e-9)).toBe(true);
      }
      expect(result.warnings?.join('\n')).toMatch(/word times are estimated/);
    });
  });

  it('a 400 naming the granularity drops it, retries at once, and remembers the drop for the model', async () => {
    await withMistral(async (double) => {
      // A model voxpipe does not know to lack words: it asks for them; the first call is refused as Voxtral 3 does.
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-latest' });
      expect(t.capabilities.words).toBe(true);

      const first = await t.transcribe(request({ words: true }), AbortSignal.timeout(10_000));
      expect(double.requests.map((r) => r.status)).toEqual([400, 200]);
      expect(double.requests[1]?.body?.timestamp_granularities).toEqual(['segment']);
      expect(first.warnings?.join('\n')).toMatch(/rejected timestamp granularity 'word' \(400\); not asked for again/);
      expect(first.segments).toHaveLength(3);
      expect(first.words?.every((w) => w.estimated)).toBe(true);

      const second = await t.transcribe(request({ words: true }), AbortSignal.timeout(10_000));
      expect(double.requests).toHaveLength(3);
      expect(double.requests[2]?.body?.timestamp_granularities).toEqual(['segment']);
      expect(second.words?.every((w) => w.estimated)).toBe(true);
    }, { byCall: { 1: { kind: 'status', status: 400, message: "Invalid timestamp_granularities: 'word' is not supported by this model" } } });
  });

  it('a 400 that names no granularity still fails the call', async () => {
    await withMistral(async (double) => {
      const t = createMistralTranscriber({ baseUrl: `${double.url}/nowhere`, model: 'voxtral-mini-transcribe-3' });
      await expect(t.transcribe(request(), AbortSignal.timeout(10_000))).rejects.toBeInstanceOf(PermanentError);
    });
  });

  it('diarization always goes with segment granularity, even with timestamps off', async () => {
    await withMistral(async (double) => {
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-transcribe-3', timestamps: false });

      const result = await t.transcribe(request({ diarize: true }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.status).toBe(200);
      expect(double.requests[0]?.body).toMatchObject({ diarize: true, timestamp_granularities: ['segment'] });
      expect(result.segments?.every((s) => s.speaker !== undefined)).toBe(true);
    });
  });

  it('the double refuses diarization without segments, as Voxtral 3 does', async () => {
    await withMistral(async (double) => {
      const form = new FormData();
      form.append('model', 'voxtral-mini-transcribe-3');
      form.append('file', new Blob([AUDIO], { type: 'audio/flac' }), 'chunk.flac');
      form.append('diarize', 'true');
      const res = await fetch(`${double.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/segment/);
    });
  });

  it('sends the request vocabulary as context_bias and the temperature when set', async () => {
    await withMistral(async (double) => {
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-transcribe-3', contextBias: ['Voxtral'] });
      await t.transcribe(request({ vocabulary: ['chunk plan', 'Voxtral', 'Mistral, AI'], temperature: 0.4 }), AbortSignal.timeout(10_000));
      expect(double.requests[0]?.body).toMatchObject({ context_bias: ['Voxtral', 'chunk_plan', 'Mistral_AI'], temperature: 0.4 });
    });
  });

  it('checks a chunk against the 65,536-token context before calling', async () => {
    await withMistral(async (double) => {
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-transcribe-3' });
      expect(t.capabilities.maxAudioSeconds).toBeLessThanOrEqual(900);
      const long = request({ audio: headerOnlyFlac(5400), durationSeconds: 5400 });
      expect(requestTokens(5400, [])).toBeGreaterThan(65_536);

      const err = await t.transcribe(long, AbortSignal.timeout(10_000)).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toMatch(/exceed the model's 65536-token context/);
      expect(double.calls).toBe(0);
    });
  });

  it('the double answers 400 when audio and context_bias overflow the context (what the pre-check avoids)', async () => {
    await withMistral(async (double) => {
      const form = new FormData();
      form.append('model', 'voxtral-small-transcribe-3');
      form.append('file', new Blob([headerOnlyFlac(5300)], { type: 'audio/flac' }), 'chunk.flac');
      for (let i = 0; i < 100; i += 1) form.append('context_bias', `term_number_${i}_with_a_rather_long_spelling`);
      const res = await fetch(`${double.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/maximum context length/);
    });
  });
});

describe('estimateWords', () => {
  it('splits each segment in proportion to word length, inside the segment, marked estimated', () => {
    const words = estimateWords([{ start: 1, end: 3, text: 'a bbb' }]);
    expect(words).toEqual([
      { word: 'a', start: 1, end: 1 + 2 * (2 / 6), estimated: true },
      { word: 'bbb', start: 1 + 2 * (2 / 6), end: 3, estimated: true },
    ]);
  });
});
