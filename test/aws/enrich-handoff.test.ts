/**
 * The aggregator's hand-off to the enricher and the outcome the final event carries, over a real fs store and
 * a recording SQS client (the in-process pipeline runs in enrich.test.ts).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { JobOptions, Transcript } from '../../shared/core/types.js';
import type { JobEvent, Logger } from '../../shared/ports.js';
import { enrichHandoff } from '../../functions/lib/enricher-handoff.js';
import { enrichmentOutcome, failedOutcome } from '../../functions/lib/enricher-outcome.js';
import { scratchDir } from '../fixtures/audio.js';

const base: JobOptions = { provider: 'mistral', model: 'voxtral-mini-latest', chunkSeconds: 30, words: false, diarize: false, timestamps: 'auto' };
const completed: JobEvent = { type: 'job.completed', jobId: 'j1', source: 's3://b/inbox/a.mp3', resultKeys: [] };

/** `queueUrl: null`: a stack without an enricher. */
async function setup(options: Partial<JobOptions>, queueUrl: string | null = 'https://sqs.us-east-1.amazonaws.com/1/enrich') {
  const store = createFsStore(await scratchDir('enrich-handoff'));
  await store.put(jobKeys('j1').manifest, JSON.stringify({ jobId: 'j1', options: { ...base, ...options } }));
  const sent: unknown[] = [];
  const published: JobEvent[] = [];
  const warnings: string[] = [];
  const sqs = {
    send: async (cmd: { input: { Entries: { MessageBody: string }[] } }) => {
      sent.push(...cmd.input.Entries.map((e) => JSON.parse(e.MessageBody)));
      return {};
    },
  };
  const logger: Logger = { debug: () => {}, info: () => {}, warn: (m) => void warnings.push(m), error: () => {} };
  const handoff = enrichHandoff({ store, notifier: { notify: async (e) => void published.push(e) }, sqs: sqs as unknown as SQSClient, queueUrl: queueUrl ?? undefined, logger });
  return { store, sent, published, warnings, handoff };
}

describe('enrich hand-off (aggregator side)', () => {
  it('turns job.completed of a job that asks for enrichments into one { jobId } message, and lets job.failed through', async () => {
    const { sent, published, handoff } = await setup({ translate: ['fr'] });
    const events = await handoff.forJob('j1');
    await events.notifier.notify(completed);
    expect(sent).toEqual([{ jobId: 'j1' }]);
    expect(published).toEqual([]);
    expect(events.handedOff()).toBe(true);
    await events.notifier.notify({ type: 'job.failed', jobId: 'j1', source: 's', reason: 'r', resultKeys: [] });
    expect(published.map((e) => e.type)).toEqual(['job.failed']);
  });

  it('publishes job.completed as before for a job without enrichments, or when the stack has no enricher (with a warning)', async () => {
    const plain = await setup({});
    const events = await plain.handoff.forJob('j1');
    await events.notifier.notify(completed);
    expect(plain.published).toEqual([completed]);
    expect(events.handedOff()).toBe(false);

    const noEnricher = await setup({ summary: true }, null);
    await (await noEnricher.handoff.forJob('j1')).notifier.notify(completed);
    expect(noEnricher.published).toEqual([completed]);
    expect(noEnricher.warnings.join()).toMatch(/no enricher/);
  });
});

describe('enrichment outcome', () => {
  it('states each requested part and the overall status', () => {
    const t = {
      translations: { fr: { status: 'ok', text: '', segments: [] }, de: { status: 'failed', reason: 'bad batch' } },
      summary: { status: 'ok', text: 's' },
    } as unknown as Transcript;
    expect(enrichmentOutcome(t)).toEqual({
      status: 'partial',
      parts: { 'translation:fr': { status: 'ok' }, 'translation:de': { status: 'failed', reason: 'bad batch' }, summary: { status: 'ok' } },
    });
    expect(enrichmentOutcome({ summary: { status: 'ok', text: 's' } } as unknown as Transcript).status).toBe('ok');
    expect(failedOutcome({ translate: ['fr'], ask: 'q' }, 'gave up')).toEqual({
      status: 'failed',
      parts: { 'translation:fr': { status: 'failed', reason: 'gave up' }, answer: { status: 'failed', reason: 'gave up' } },
    });
  });
});
