/**
 * The enrich stage over a stored transcript, with the real fs store, the real call policy and a chat double
 * on a real socket (requests validated against the vendor spec). Faults are injected per call.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript } from '../../shared/core/types.js';
import { createCallPolicy } from '../../shared/providers/call-policy.js';
import { createChatModel } from '../../shared/providers/chat-models.js';
import { type EnrichDeps, type EnrichOptions, enrichJob } from '../../shared/stages/enrich.js';
import { writeJson } from '../../shared/stages/store-json.js';
import { type ChatCallInfo, type ChatDouble, type ChatFault, type ChatVendor, doubleTranslation, startChatDouble } from '../doubles/chat-server.js';
import { scratchDir } from '../fixtures/audio.js';
import { silentLogger } from './local-harness.js';

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];

function transcriptOf(segments: number, durationSeconds = segments * 4): Transcript {
  const segs = Array.from({ length: segments }, (_, id) => ({
    id,
    start: id * 4,
    end: id * 4 + 3,
    text: Array.from({ length: 6 }, (_, w) => WORDS[(id + w) % WORDS.length]).join(' '),
  }));
  return {
    id: 'job-1', source: 'talk.mp3', status: 'completed', durationSeconds, language: 'en',
    text: segs.map((s) => s.text).join(' '), segments: segs, chunks: [], model: 'voxtral-mini-latest',
    usage: { audioSeconds: durationSeconds, costUsd: 0.01 }, timestamps: 'provider', warnings: [],
  };
}

let double: ChatDouble | undefined;
afterEach(() => double?.close());

async function setup(opts: {
  vendor?: ChatVendor;
  segments?: number;
  durationSeconds?: number;
  contextTokens?: number;
  faults?: (info: ChatCallInfo) => ChatFault | undefined;
  deps?: Partial<EnrichDeps>;
  latencyMs?: number;
}) {
  const vendor = opts.vendor ?? 'mistral';
  const contextTokens = opts.contextTokens ?? 32_768;
  double = await startChatDouble({ vendor, apiKey: 'k', contextTokens, faults: opts.faults, latencyMs: opts.latencyMs });
  const dir = await scratchDir('enrich');
  const store = createFsStore(dir);
  const transcript = transcriptOf(opts.segments ?? 30, opts.durationSeconds);
  await writeJson(store, jobKeys('job-1').result('json'), transcript);
  const deps: EnrichDeps = {
    store,
    chat: createChatModel({ provider: vendor, baseUrl: double.url, apiKey: 'k', model: 'voxtral-small-latest', contextTokens }),
    policy: createCallPolicy({ concurrency: 4, maxAttempts: 3, timeoutMs: 5_000, baseDelayMs: 1 }),
    logger: silentLogger,
    ...opts.deps,
  };
  const run = (options: EnrichOptions) => enrichJob('job-1', options, deps);
  return { store, dir, transcript, run, double };
}

describe('enrich stage: translation', () => {
  it('translates every segment once per language, keeping ids and timing, and writes SRT/VTT/TXT per language', async () => {
    const { transcript, run, dir, double } = await setup({ segments: 120, contextTokens: 3_000 });
    const { transcript: t } = await run({ translate: ['fr', 'de'] });
    for (const lang of ['fr', 'de']) {
      const tr = t.translations?.[lang];
      expect(tr?.status).toBe('ok');
      if (tr?.status !== 'ok') continue;
      expect(tr.segments).toEqual(transcript.segments.map((s) => ({ id: s.id, start: s.start, end: s.end, text: doubleTranslation(lang, s.text) })));
      const translated = double.requests.filter((r) => r.task === 'translation' && r.language === lang).flatMap((r) => r.ids ?? []);
      expect([...translated].sort((a, b) => a - b)).toEqual(transcript.segments.map((s) => s.id)); // each segment sent once
      const srt = await readFile(join(dir, `results/job-1/transcript.${lang}.srt`), 'utf8');
      expect(srt).toContain(`${lang}:alpha`);
    }
    expect(double.requests.filter((r) => r.task === 'translation').length).toBeGreaterThan(2); // several batches at 3k context
    expect(double.requests.every((r) => r.validationErrors.length === 0 && r.status === 200)).toBe(true);
    expect(t.segments).toEqual(transcript.segments);
    expect(t.usage.chat?.calls.length).toBe(double.requests.length);
    expect(t.usage.chat?.inputTokens).toBeGreaterThan(0);
    expect(t.usage.transcriptionCostUsd).toBe(0.01);
  });

  it('re-asks a batch whose reply has a wrong segment count or an empty text, and then succeeds', async () => {
    const faulted = new Set<string>();
    const once = (key: string, fault: ChatFault) => {
      if (faulted.has(key)) return undefined;
      faulted.add(key);
      return fault;
    };
    const { run, double } = await setup({
      segments: 10,
      faults: (i) => (i.language === 'fr' ? once('fr', { kind: 'wrong-count' }) : i.language === 'de' ? once('de', { kind: 'empty-text' }) : undefined),
    });
    const { transcript: t } = await run({ translate: ['fr', 'de'] });
    expect(t.translations?.fr?.status).toBe('ok');
    expect(t.translations?.de?.status).toBe('ok');
    const reask = double.requests.find((r) => r.language === 'fr' && r.fault === undefined)!;
    expect(JSON.stringify(reask.body.messages)).toContain('expected 10 segments, got 9');
  });

  it('splits a batch the model refuses as too long for its context', async () => {
    let refused = 0;
    const { transcript, run, double } = await setup({
      segments: 40,
      faults: (i): ChatFault | undefined => {
        if (i.task !== 'translation' || (i.ids?.length ?? 0) <= 10) return undefined;
        refused += 1;
        return { kind: 'context-length' };
      },
    });
    const { transcript: t } = await run({ translate: ['fr'] });
    expect(refused).toBeGreaterThan(0);
    const fr = t.translations?.fr;
    expect(fr?.status).toBe('ok');
    if (fr?.status === 'ok') expect(fr.segments.map((s) => s.id)).toEqual(transcript.segments.map((s) => s.id));
    expect(double.requests.filter((r) => r.status === 200).every((r) => (r.ids?.length ?? 0) <= 10)).toBe(true);
  });

  it('runs independent batches in parallel, never above the shared concurrency cap', async () => {
    const { run, double } = await setup({ segments: 200, contextTokens: 2_000, latencyMs: 20 });
    const { transcript: t } = await run({ translate: ['fr', 'de', 'es'], summary: true });
    expect(Object.values(t.translations ?? {}).every((r) => r.status === 'ok')).toBe(true);
    expect(double.requests.length).toBeGreaterThan(12);
    expect(double.maxConcurrent).toBe(4); // the policy's cap in setup()
  });

  it('retries 429s under the call policy', async () => {
    const { run, double } = await setup({ segments: 5, faults: (i) => (i.call <= 2 ? { kind: 'rate-limit', retryAfterSeconds: 0.01 } : undefined) });
    const { transcript: t } = await run({ translate: ['fr'] });
    expect(t.translations?.fr?.status).toBe('ok');
    expect(double.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(t.usage.chat?.calls[0]?.attempts).toBe(3);
  });

  it('fails one language with a reason when its replies stay malformed, leaving the transcript and other languages intact', async () => {
    const { transcript, run, dir } = await setup({ segments: 30, faults: (i) => (i.language === 'de' ? { kind: 'malformed' } : undefined) });
    const { transcript: t } = await run({ translate: ['fr', 'de'] });
    expect(t.translations?.fr?.status).toBe('ok');
    const de = t.translations?.de;
    expect(de?.status).toBe('failed');
    if (de?.status === 'failed') expect(de.reason).toMatch(/^translation to de failed: .*not valid JSON, still after a re-ask/);
    expect(t.segments).toEqual(transcript.segments);
    expect(t.text).toBe(transcript.text);
    await expect(readFile(join(dir, 'results/job-1/transcript.de.srt'))).rejects.toThrow();
    await expect(readFile(join(dir, 'results/job-1/transcript.fr.srt'), 'utf8')).resolves.toContain('fr:');
  });
});

describe('enrich stage: summary, extraction, question', () => {
  it('summarises a transcript far larger than the context by map-reduce, never exceeding the context', async () => {
    const { run, double, dir } = await setup({ segments: 600, contextTokens: 1_500 });
    const { transcript: t } = await run({ summary: { prompt: 'List the decisions.' } });
    expect(t.summary?.status).toBe('ok');
    const texts = double.requests.filter((r) => r.task === 'text');
    expect(texts.length).toBeGreaterThan(5); // sections, then combine/final
    expect(texts.every((r) => r.status === 200)).toBe(true); // the double refuses anything over its context
    expect(JSON.stringify(texts.at(-1)!.body.messages)).toContain('List the decisions.');
    await expect(readFile(join(dir, 'results/job-1/summary.md'), 'utf8')).resolves.toMatch(/^# Summary of talk.mp3\n\nsummary of /);
  });

  it('extracts JSON matching the schema with structured output', async () => {
    const schema = { type: 'object', required: ['topics'], properties: { topics: { type: 'array', items: { type: 'string' } } } };
    const { run, double, dir } = await setup({ vendor: 'openrouter' });
    const { transcript: t } = await run({ extract: schema });
    expect(t.extraction).toEqual({ status: 'ok', data: { topics: ['x'] } });
    expect(double.requests[0]!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'extraction', schema } });
    expect(JSON.parse(await readFile(join(dir, 'results/job-1/extract.json'), 'utf8'))).toEqual({ topics: ['x'] });
    expect(t.usage.chat?.costUsd).toBeGreaterThan(0);
    expect(t.usage.costUsd).toBeCloseTo(0.01 + (t.usage.chat?.costUsd ?? 0), 9);
  });

  it('retries an invalid extraction once with the validation errors, then fails with them', async () => {
    const schema = { type: 'object', required: ['topics'], properties: { topics: { type: 'array' } }, additionalProperties: false };
    const first = await setup({ faults: (i) => (i.call === 1 ? { kind: 'invalid-extraction' } : undefined) });
    const ok = await first.run({ extract: schema });
    expect(ok.transcript.extraction?.status).toBe('ok');
    expect(JSON.stringify(first.double.requests[1]!.body.messages)).toContain("must have required property 'topics'");
    await first.double.close();
    const second = await setup({ faults: () => ({ kind: 'invalid-extraction' }) });
    const bad = await second.run({ extract: schema });
    expect(bad.transcript.extraction).toMatchObject({ status: 'failed', reason: expect.stringMatching(/does not match the schema, also after a retry: .*topics/) });
    expect(second.double.requests).toHaveLength(2);
  });

  it('answers over the audio for a short file and over the transcript for a long one', async () => {
    const loadAudio = async () => ({ data: new Uint8Array(1234), format: 'mp3' as const });
    const short = await setup({ vendor: 'openrouter', durationSeconds: 60, deps: { loadAudio } });
    const a = await short.run({ ask: 'Who speaks?' });
    expect(a.transcript.answer).toEqual({ status: 'ok', mode: 'audio', text: 'Answer from the audio (1234 bytes heard).' });
    await short.double.close();
    const long = await setup({ vendor: 'openrouter', durationSeconds: 3 * 3600, deps: { loadAudio } });
    const b = await long.run({ ask: 'Who speaks?' });
    expect(b.transcript.answer).toMatchObject({ status: 'ok', mode: 'transcript', text: expect.stringMatching(/^answer of/) });
    expect(long.double.requests.some((r) => r.audio)).toBe(false);
  });

  it('fails every part with a clear reason when no chat model is configured, keeping the transcript', async () => {
    const { run, transcript } = await setup({ deps: { chat: undefined, noChatReason: 'no chat provider: the offline provider has no chat model' } });
    const { transcript: t } = await run({ translate: ['fr'], summary: true, ask: 'why?' });
    expect(t.translations?.fr).toEqual({ status: 'failed', reason: 'no chat provider: the offline provider has no chat model' });
    expect(t.summary?.status).toBe('failed');
    expect(t.answer).toMatchObject({ status: 'failed', mode: 'transcript' });
    expect(t.segments).toEqual(transcript.segments);
    expect(t.usage).toEqual(transcript.usage);
  });
});
