/**
 * Enrichments on AWS, in-process: the real handlers (splitter → transcribers → aggregator → enricher) over
 * emulated S3/SQS, the tone-language provider double for speech and a Mistral chat double (real HTTP, requests
 * validated against the vendor spec) for translations and summaries. The options come per job: the stack's
 * defaults (`-c translate=fr,de -c summary=true`, as the splitter's environment) and a drop-folder profile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../../shared/core/keys.js';
import type { DropReason } from '../../shared/core/profile-paths.js';
import type { JobManifest, Transcript } from '../../shared/core/types.js';
import { enrichKeys } from '../../shared/stages/enrich.js';
import { type ChatDouble, startChatDouble } from '../doubles/chat-server.js';
import { expectFrenchOkGermanFailed } from '../e2e/enrich-assertions.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { type Deployment, startDeployment } from './lambda-harness.js';

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe('AWS enrichments: translate fr,de + summary by stack default, German forced to fail', () => {
  let aws: Deployment;
  let chat: ChatDouble;
  beforeAll(async () => {
    // German replies are always malformed JSON: the forced failure of one language.
    chat = await startChatDouble({ vendor: 'mistral', apiKey: 'test-key', contextTokens: 2_000, faults: (i) => (i.language === 'de' ? { kind: 'malformed' } : undefined) });
    aws = await startDeployment({
      env: {
        VOXPIPE_TRANSLATE: 'fr,de',
        VOXPIPE_SUMMARY: 'true',
        VOXPIPE_CHAT_BASE_URL: chat.url,
        VOXPIPE_CHAT_MODEL: 'voxtral-small-latest',
        VOXPIPE_CHAT_CONTEXT_TOKENS: '2000',
        // The harness's 3 s per call is for the provider double's fault plans; a chat call on a loaded machine can
        // take longer, and a spurious timeout would fail a language (one attempt) or translate a segment twice.
        VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: '60',
        VOXPIPE_PROFILES: JSON.stringify({ profiles: { subs: { translate: ['fr'], formats: ['json', 'srt'] } } }),
      },
    });
    // Emulators, doubles (the chat double parses its vendor spec) and six handlers: minutes on a loaded machine.
  }, 300_000);
  afterAll(async () => {
    await aws?.close();
    await chat?.close();
  });

  const json = async <T>(key: string) => JSON.parse(decode(await aws.store.get(key))) as T;

  it('writes each translation and the summary as its own object under results/<jobId>/, every segment translated once with its timing', async () => {
    // GIVEN a multi-chunk recording uploaded to inbox/ of a stack with default enrichments
    const { path } = await toneSpeechFixture({ seed: 31, durationSeconds: 75, format: 'mp3' });
    const up = await aws.upload('inbox/weekly sync.mp3', path);

    // WHEN the job ends
    const event = await aws.waitForJob(up.jobId, 240_000);
    await aws.settle();

    // THEN there is one final event, sent after the enrichments, that says how each part ended
    expect(aws.terminalEvents(up.jobId).map((e) => e.detailType)).toEqual(['voxpipe.job.completed']);
    expect(event.detail.enrichment).toMatchObject({
      status: 'partial',
      parts: {
        'translation:fr': { status: 'ok' },
        'translation:de': { status: 'failed', reason: expect.stringMatching(/translation to de failed/) },
        summary: { status: 'ok' },
      },
    });
    const keys = enrichKeys(up.jobId);
    expect(event.detail.resultKeys).toEqual(expect.arrayContaining([jobKeys(up.jobId).result('json'), keys.translation('fr', 'srt'), keys.summary]));

    // AND the manifest carries the stack's defaults as the job's options
    expect((await json<JobManifest>(jobKeys(up.jobId).manifest)).options).toMatchObject({ translate: ['fr', 'de'], summary: true });

    // AND the transcript stands, with French translated segment by segment under the same ids and timing
    const t = await json<Transcript>(jobKeys(up.jobId).result('json'));
    expectFrenchOkGermanFailed(t, chat);
    expect(t.usage.chat?.calls.length).toBeGreaterThan(0);

    // AND each output is its own object; the failed language has none
    for (const ext of ['srt', 'vtt', 'txt'] as const) {
      expect(await aws.store.exists(keys.translation('fr', ext))).toBe(true);
      expect(await aws.store.exists(keys.translation('de', ext))).toBe(false);
    }
    const srt = decode(await aws.store.get(keys.translation('fr', 'srt')));
    expect(srt).toMatch(/^1\r?\n\d\d:\d\d:\d\d,\d{3} --> /);
    expect(srt).toContain('fr:');
    expect(decode(await aws.store.get(keys.summary))).toMatch(/^# Summary of /);
    for (const ext of ['json', 'txt', 'srt', 'vtt'] as const) expect(await aws.store.exists(jobKeys(up.jobId).result(ext))).toBe(true);
    expect((await json<{ state: string }>(jobKeys(up.jobId).status)).state).toBe('completed');
    expect(aws.mappings.enrich.stats.invocations).toBeGreaterThan(0);
    expect(aws.mappings.dlq.stats.invocations).toBe(0);
  }, 300_000);

  it('takes a drop-folder profile’s translate as the job’s options and publishes the translation beside the transcript', async () => {
    // GIVEN a profile that translates into French and publishes json + srt
    const { path } = await toneSpeechFixture({ seed: 32, durationSeconds: 20, format: 'wav' });
    await aws.upload('inbox/subs/ep 1.wav', path);

    // WHEN the source has left the inbox
    const deadline = Date.now() + 240_000;
    while (!(await aws.store.exists('processed/subs/ep 1.wav.reason.json')) || (await aws.store.exists('inbox/subs/ep 1.wav'))) {
      if (Date.now() > deadline) throw new Error('drop not finalized');
      await new Promise((r) => setTimeout(r, 100));
    }

    // THEN the job ran the profile's enrichment (not the stack default) and the result folder has the French subtitles
    const reason = await json<DropReason>('processed/subs/ep 1.wav.reason.json');
    expect([...reason.results].sort()).toEqual(['results/subs/ep 1.fr.srt', 'results/subs/ep 1.json', 'results/subs/ep 1.srt']);
    const [event] = aws.terminalEvents(reason.jobId!);
    expect(event?.detail.enrichment).toEqual({ status: 'ok', parts: { 'translation:fr': { status: 'ok' } } });
    const t = await json<Transcript>(jobKeys(reason.jobId!).result('json'));
    expect(t.translations?.fr?.status).toBe('ok');
    expect(t.translations?.de).toBeUndefined();
    expect(t.summary).toBeUndefined();
    expect(decode(await aws.store.get('results/subs/ep 1.fr.srt'))).toContain('fr:');
  }, 300_000);
});
