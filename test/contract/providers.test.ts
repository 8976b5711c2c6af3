/**
 * Transcriber contract, run against every HTTP provider and a double that speaks its vendor's
 * protocol over a real socket and validates each request against the vendor's OpenAPI spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../shared/core/errors.js';
import type { Transcriber, TranscribeRequest } from '../../shared/ports.js';
import { createDeepInfraTranscriber } from '../../shared/providers/deepinfra.js';
import { httpStatusError, providerErrorMessage, retryAfterMs } from '../../shared/providers/http-errors.js';
import { createTranscriber } from '../../shared/providers/index.js';
import { createMistralTranscriber } from '../../shared/providers/mistral.js';
import { createOpenAICompatibleTranscriber } from '../../shared/providers/openai-compatible.js';
import { createOpenRouterTranscriber } from '../../shared/providers/openrouter.js';
import { recognizeByDuration } from '../doubles/fake-recognizer.js';
import { headerOnlyFlac } from '../doubles/flac.js';
import { type FaultPlan, type ProviderDouble, startProviderDouble, type Vendor } from '../doubles/provider-server.js';

const KEY = 'sk-test-key';
const LABEL = 'job abc chunk 7';
/** 10 s of audio: the fake recognizer hears 12 words in three groups. */
const AUDIO = headerOnlyFlac(10);
const SEGMENT_TIMES = [
  [0.2, 2.4],
  [3.4, 5.6],
  [6.6, 8.8],
];

interface ProviderCase {
  readonly vendor: Exclude<Vendor, 'vllm'>;
  readonly make: (baseUrl: string, apiKey?: string) => Transcriber;
  readonly segments: boolean;
  /** A request the vendor's contract refuses, sent raw, to prove the double validates. */
  readonly broken: (baseUrl: string) => Promise<Response>;
  readonly brokenStatus: number;
}

const cases: ProviderCase[] = [
  {
    vendor: 'openai-compatible',
    make: (baseUrl, apiKey) => createOpenAICompatibleTranscriber({ baseUrl, apiKey, model: 'whisper-1' }),
    segments: true,
    broken: (url) => postForm(`${url}/audio/transcriptions`, { model: 'whisper-1', response_format: 'verbose', speed: '2' }),
    brokenStatus: 400,
  },
  {
    vendor: 'mistral',
    make: (baseUrl, apiKey) => createMistralTranscriber({ baseUrl, apiKey, model: 'voxtral-mini-latest' }),
    segments: true,
    // OpenAI-style bracketed array key: Mistral would ignore it silently, the double refuses it.
    broken: (url) => postForm(`${url}/v1/audio/transcriptions`, { model: 'voxtral-mini-latest', 'timestamp_granularities[]': 'segment' }),
    brokenStatus: 422,
  },
  {
    vendor: 'openrouter',
    make: (baseUrl, apiKey) => createOpenRouterTranscriber({ baseUrl, apiKey, model: 'mistralai/voxtral-mini-transcribe' }),
    segments: false,
    broken: (url) =>
      fetch(`${url}/audio/transcriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', input_audio: { data: Buffer.from(AUDIO).toString('base64') } }),
      }),
    brokenStatus: 400,
  },
  {
    vendor: 'deepinfra',
    make: (baseUrl, apiKey) => createDeepInfraTranscriber({ baseUrl, apiKey, model: 'mistralai/Voxtral-Small-24B-2507' }),
    segments: true,
    broken: (url) => postForm(`${url}/v1/inference/mistralai/Voxtral-Small-24B-2507`, { task: 'summarize' }, 'file'),
    brokenStatus: 422,
  },
];

describe.each(cases)('Transcriber contract: $vendor', (c) => {
  let double: ProviderDouble;
  let transcriber: Transcriber;

  beforeAll(async () => {
    double = await startProviderDouble({ vendor: c.vendor, recognize: recognizeByDuration, apiKey: KEY });
    transcriber = c.make(double.url, KEY);
  });
  afterAll(() => double.close());

  it('sends a request that passes the vendor spec and maps text, times and usage', async () => {
    const result = await transcriber.transcribe(request(), AbortSignal.timeout(10_000));

    const seen = double.requests.at(-1);
    expect(seen?.validationErrors).toEqual([]);
    expect(seen?.status).toBe(200);
    expect(result.text).toBe('w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11');
    expect(result.provider).toBe(c.vendor);
    expect(result.model).toBe(transcriber.model);
    expect(result.usage.audioSeconds).toBe(10);
    if (c.segments) expect(result.segments?.map((s) => [s.start, s.end])).toEqual(SEGMENT_TIMES);
    else expect(result.segments).toBeUndefined();
    expect(transcriber.capabilities.timestamps).toBe(c.segments);
  });

  it('the double refuses a request that breaks the vendor contract', async () => {
    const res = await c.broken(double.url);

    expect(res.status).toBe(c.brokenStatus);
    expect(double.requests.at(-1)?.validationErrors.length ?? 0).toBeGreaterThan(0);
  });

  it('fails with a PermanentError naming the label and the provider message when the key is wrong (401)', async () => {
    const wrongKey = c.make(double.url, 'sk-wrong');

    const err = await wrongKey.transcribe(request(), AbortSignal.timeout(10_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain(`${LABEL}: ${c.vendor} 401: Invalid API key`);
  });

  it('fails with a PermanentError when the server cannot read the audio', async () => {
    const err = await transcriber.transcribe(request({ audio: new Uint8Array(100) }), AbortSignal.timeout(10_000)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/400: unsupported audio/);
  });

  it.each([
    ['413', { byCall: { 1: { kind: 'status', status: 413, message: 'Request entity too large' } } }, PermanentError, /413: Request entity too large/],
    ['500', { byCall: { 1: { kind: 'status', status: 500, message: 'upstream exploded' } } }, TransientError, /500: upstream exploded/],
    ['truncated JSON', { byCall: { 1: { kind: 'truncated' } } }, TransientError, /truncated or unparseable/],
    ['dropped connection', { byCall: { 1: { kind: 'reset' } } }, TransientError, /request failed/],
  ] as const)('fails on %s with the right error class', async (_name, faults, errorClass, message) => {
    const faulty = await startProviderDouble({ vendor: c.vendor, recognize: recognizeByDuration, faults: faults as FaultPlan });
    try {
      const err = await c.make(faulty.url).transcribe(request(), AbortSignal.timeout(10_000)).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(errorClass);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message.startsWith(`${LABEL}: ${c.vendor}`)).toBe(true);
    } finally {
      await faulty.close();
    }
  });

  it('fails on 429 with a rate-limited TransientError carrying Retry-After', async () => {
    const faulty = await startProviderDouble({
      vendor: c.vendor,
      recognize: recognizeByDuration,
      faults: { byCall: { 1: { kind: 'rate-limit', retryAfterSeconds: 7 } } },
    });
    try {
      const err = await c.make(faulty.url).transcribe(request(), AbortSignal.timeout(10_000)).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).rateLimited).toBe(true);
      expect((err as TransientError).retryAfterMs).toBe(7000);
    } finally {
      await faulty.close();
    }
  });

  it('fails with a TransientError when the signal aborts a hung request', async () => {
    const faulty = await startProviderDouble({ vendor: c.vendor, recognize: recognizeByDuration, faults: { byCall: { 1: { kind: 'hang' } } } });
    try {
      const err = await c.make(faulty.url).transcribe(request(), AbortSignal.timeout(200)).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(TransientError);
    } finally {
      await faulty.close();
    }
  });
});

describe('openai-compatible specifics', () => {
  it('asks for verbose_json with word timestamps and maps words', async () => {
    await withDouble('openai-compatible', async (double) => {
      const t = createOpenAICompatibleTranscriber({ baseUrl: double.url, model: 'whisper-1' });

      const result = await t.transcribe(request({ words: true, language: 'en' }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.body).toMatchObject({ response_format: 'verbose_json', timestamp_granularities: ['segment', 'word'], language: 'en' });
      expect(result.words?.slice(0, 2)).toEqual([
        { word: 'w0', start: 0.2, end: 0.6 },
        { word: 'w1', start: 0.8, end: 1.2 },
      ]);
    });
  });

  it('falls back to json with a warning when vLLM rejects verbose_json, and remembers it', async () => {
    await withDouble('vllm', async (double) => {
      const t = createOpenAICompatibleTranscriber({ baseUrl: double.url, model: 'mistralai/Voxtral-Mini-3B-2507', timestamps: true });

      const first = await t.transcribe(request(), AbortSignal.timeout(10_000));
      const second = await t.transcribe(request(), AbortSignal.timeout(10_000));

      expect(first.text).toBe('w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11');
      expect(first.segments).toBeUndefined();
      expect(first.warnings?.[0]).toMatch(/rejected verbose_json \(Currently do not support verbose_json for voxtral/);
      expect(second.warnings).toHaveLength(1);
      expect(double.requests.map((r) => r.body?.response_format)).toEqual(['verbose_json', 'json', 'json']);
      expect(t.capabilities.timestamps).toBe(false);
    });
  });

  it('asks for plain json when timestamps are off (the factory does so for Voxtral models)', async () => {
    await withDouble('vllm', async (double) => {
      const t = createTranscriber({ provider: 'openai-compatible', baseUrl: double.url });

      const result = await t.transcribe(request(), AbortSignal.timeout(10_000));

      expect(t.model).toBe('mistralai/Voxtral-Mini-3B-2507');
      expect(t.capabilities.timestamps).toBe(false);
      expect(double.requests.map((r) => r.body?.response_format)).toEqual(['json']);
      expect(result.warnings).toBeUndefined();
    });
  });
});

describe('mistral specifics', () => {
  it('sends segment granularity and diarize as plain repeated keys and maps speakers', async () => {
    await withDouble('mistral', async (double) => {
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-latest', contextBias: ['Voxtral', 'chunk plan'] });

      const result = await t.transcribe(request({ diarize: true, language: 'fr' }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.body).toMatchObject({
        timestamp_granularities: ['segment'],
        diarize: true,
        context_bias: ['Voxtral', 'chunk_plan'],
      });
      expect(double.requests[0]?.body).not.toHaveProperty('language');
      expect(result.segments?.map((s) => s.speaker)).toEqual(['speaker_1', 'speaker_2', 'speaker_1']);
      expect(result.warnings?.[0]).toMatch(/language hint 'fr' not sent/);
      expect(result.usage).toMatchObject({ audioSeconds: 10, outputTokens: 12 });
    });
  });

  it('sends the language when timestamps are off', async () => {
    await withDouble('mistral', async (double) => {
      const t = createMistralTranscriber({ baseUrl: double.url, model: 'voxtral-mini-latest', timestamps: false });

      const result = await t.transcribe(request({ language: 'fr' }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.body).toMatchObject({ language: 'fr' });
      expect(double.requests[0]?.body).not.toHaveProperty('timestamp_granularities');
      expect(result.segments).toBeUndefined();
      expect(result.language).toBe('fr');
    });
  });
});

describe('openrouter and deepinfra specifics', () => {
  it('openrouter sends base64 FLAC as JSON and records the cost', async () => {
    await withDouble('openrouter', async (double) => {
      const t = createOpenRouterTranscriber({ baseUrl: double.url, model: 'mistralai/voxtral-mini-transcribe' });

      const result = await t.transcribe(request({ language: 'en' }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.body).toMatchObject({ input_audio: { format: 'flac' }, language: 'en' });
      expect(double.requests[0]?.audioBytes).toBe(AUDIO.length);
      expect(result.usage.costUsd).toBe(0.0005);
    });
  });

  it('deepinfra maps words from `text`, and the cost from inference_status', async () => {
    await withDouble('deepinfra', async (double) => {
      const t = createDeepInfraTranscriber({ baseUrl: double.url, model: 'mistralai/Voxtral-Small-24B-2507' });

      const result = await t.transcribe(request({ words: true, language: 'en' }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.path).toBe('/v1/inference/mistralai/Voxtral-Small-24B-2507');
      expect(double.requests[0]?.body).toMatchObject({ task: 'transcribe', language: 'en' });
      expect(result.words?.at(-1)).toEqual({ word: 'w11', start: 8.4, end: 8.8 });
      expect(result.usage.costUsd).toBe(0.0005);
    });
  });
});

describe('native speech translation (task: translate)', () => {
  const ENGLISH = 'en:w0 en:w1 en:w2 en:w3 en:w4 en:w5 en:w6 en:w7 en:w8 en:w9 en:w10 en:w11';

  it('openai-compatible posts /audio/translations (CreateTranslationRequest) with verbose_json and maps segments', async () => {
    await withDouble('openai-compatible', async (double) => {
      const t = createOpenAICompatibleTranscriber({ baseUrl: double.url, model: 'whisper-1' });

      const result = await t.transcribe(request({ task: 'translate', language: 'de', words: true }), AbortSignal.timeout(10_000));

      const seen = double.requests[0];
      expect(seen?.path).toBe('/v1/audio/translations');
      expect(seen?.validationErrors).toEqual([]);
      expect(seen?.body).toMatchObject({ model: 'whisper-1', response_format: 'verbose_json' });
      expect(seen?.body).not.toHaveProperty('language'); // not a CreateTranslationRequest field
      expect(result.text).toBe(ENGLISH);
      expect(result.segments?.map((s) => [s.start, s.end])).toEqual(SEGMENT_TIMES);
      expect(result.segments?.[0]?.text).toBe('en:w0 en:w1 en:w2 en:w3');
      expect(t.capabilities.translate).toBe(true);
    });
  });

  it('the double refuses a translation request with transcription-only fields', async () => {
    await withDouble('openai-compatible', async (double) => {
      const res = await postForm(`${double.url}/audio/translations`, { model: 'whisper-1', 'timestamp_granularities[]': 'segment' });

      expect(res.status).toBe(400);
      expect(double.requests[0]?.validationErrors.length).toBeGreaterThan(0);
    });
  });

  it('openai-compatible falls back to json translations when vLLM rejects verbose_json', async () => {
    await withDouble('vllm', async (double) => {
      const t = createOpenAICompatibleTranscriber({ baseUrl: double.url, model: 'whisper-large-v3', timestamps: true });

      const result = await t.transcribe(request({ task: 'translate' }), AbortSignal.timeout(10_000));

      expect(double.requests.map((r) => [r.path, r.body?.response_format])).toEqual([
        ['/v1/audio/translations', 'verbose_json'],
        ['/v1/audio/translations', 'json'],
      ]);
      expect(result.text).toBe(ENGLISH);
      expect(result.segments).toBeUndefined();
      expect(result.warnings?.[0]).toMatch(/rejected verbose_json/);
    });
  });

  it('deepinfra sends task=translate to its inference endpoint and maps segments', async () => {
    await withDouble('deepinfra', async (double) => {
      const t = createDeepInfraTranscriber({ baseUrl: double.url, model: 'mistralai/Voxtral-Small-24B-2507' });

      const result = await t.transcribe(request({ task: 'translate', language: 'de' }), AbortSignal.timeout(10_000));

      expect(double.requests[0]?.path).toBe('/v1/inference/mistralai/Voxtral-Small-24B-2507');
      expect(double.requests[0]?.validationErrors).toEqual([]);
      expect(double.requests[0]?.body).toMatchObject({ task: 'translate', language: 'de' });
      expect(result.text).toBe(ENGLISH);
      expect(result.segments?.map((s) => [s.start, s.end])).toEqual(SEGMENT_TIMES);
      expect(t.capabilities.translate).toBe(true);
    });
  });

  it('mistral and openrouter report no native speech translation', () => {
    expect(createMistralTranscriber({ baseUrl: 'http://127.0.0.1:1', model: 'voxtral-mini-latest' }).capabilities.translate).toBe(false);
    expect(createOpenRouterTranscriber({ baseUrl: 'http://127.0.0.1:1', model: 'mistralai/voxtral-mini-transcribe' }).capabilities.translate).toBe(false);
  });
});

describe('HTTP error translation', () => {
  it.each([408, 409, 429, 500, 502, 503, 504, 524, 529])('treats %i as transient', (status) => {
    expect(httpStatusError(LABEL, 'x', status, {})).toBeInstanceOf(TransientError);
  });

  it.each([400, 401, 402, 403, 404, 413, 415, 422])('treats %i as permanent', (status) => {
    expect(httpStatusError(LABEL, 'x', status, {})).toBeInstanceOf(PermanentError);
  });

  it('reads every vendor error shape', () => {
    expect(providerErrorMessage({ error: { message: 'openai style', type: 'x' } })).toBe('openai style');
    expect(providerErrorMessage({ error: { code: 402, message: 'Insufficient credits' } })).toBe('Insufficient credits');
    expect(providerErrorMessage({ object: 'error', message: 'vllm flat', code: 400 })).toBe('vllm flat');
    expect(providerErrorMessage({ detail: [{ loc: ['body', 'model'], msg: 'Field required' }] })).toBe('body.model: Field required');
    expect(providerErrorMessage('<html>Bad Gateway</html>')).toBe('<html>Bad Gateway</html>');
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms first', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after': '3', 'retry-after-ms': '250' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
  });
});

function request(over: Partial<TranscribeRequest> = {}): TranscribeRequest {
  return { audio: AUDIO, durationSeconds: 10, label: LABEL, ...over };
}

async function withDouble(vendor: Vendor, fn: (double: ProviderDouble) => Promise<void>): Promise<void> {
  const double = await startProviderDouble({ vendor, recognize: recognizeByDuration });
  try {
    await fn(double);
  } finally {
    await double.close();
  }
}

function postForm(url: string, fields: Record<string, string>, fileField = 'file'): Promise<Response> {
  const form = new FormData();
  form.append(fileField, new Blob([AUDIO], { type: 'audio/flac' }), 'chunk.flac');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fetch(url, { method: 'POST', body: form, headers: { authorization: `Bearer ${KEY}` } });
}
