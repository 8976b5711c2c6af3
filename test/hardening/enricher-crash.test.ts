/**
 * The end of an enriched job on AWS (functions/lib/enricher-finish.ts, as functions/enricher.ts runs it), killed
 * before and after each of its AWS calls, then redelivered as SQS does. The enricher used to publish
 * `job.completed` before writing `enrichment.json`: a crash in between sent an event pointing at a record that
 * did not exist, and the redelivery ran every enrichment again. Now, whatever the crash point: when the event
 * goes out the record exists; every copy of the event has one `eventId`; the record ends settled; and a
 * redelivery after the record was written runs no enrichment again.
 */
import { describe, expect, it } from 'vitest';
import { endEnrichedJob, type EnrichmentRecord, finishRecordedEnrichment } from '../../functions/lib/enricher-finish.js';
import { enrichmentRecordKey } from '../../functions/lib/enricher-handoff.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { webhookIdOf } from '../../shared/adapters/webhook-notifier.js';
import type { BlobStore, EnrichmentOutcome, JobEvent, Notifier } from '../../shared/ports.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';
import { scratchDir } from '../fixtures/audio.js';

class Killed extends Error {}

/** Counts one invocation's AWS calls (store and publish) and kills it at call `kill.call`, before or after it acts. */
function environment(kill?: { call: number; when: 'before' | 'after' }) {
  let n = 0;
  let dead = false;
  const calls: string[] = [];
  const call = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (dead) throw new Killed(`${name}: the environment is gone`);
    calls.push(name);
    n += 1;
    if (kill?.call === n && kill.when === 'before') {
      dead = true;
      throw new Killed(`killed before ${name}`);
    }
    const dieAfter = kill?.call === n && kill.when === 'after';
    const out = await fn().catch((err: unknown) => {
      if (!dieAfter) throw err;
      dead = true;
      throw new Killed(`killed after ${name} (it answered ${String(err)})`);
    });
    if (dieAfter) {
      dead = true;
      throw new Killed(`killed after ${name}`);
    }
    return out;
  };
  const wrap = (store: BlobStore): BlobStore => ({
    get: (k) => call(`get ${k}`, () => store.get(k)),
    put: (k, b, o) => call(`put ${k}`, () => store.put(k, b, o)),
    putFile: (k, p, o) => call(`put ${k}`, () => store.putFile(k, p, o)),
    getFile: (k, p) => call(`get ${k}`, () => store.getFile(k, p)),
    exists: (k) => call(`head ${k}`, () => store.exists(k)),
    list: (prefix) => store.list(prefix),
    delete: (k) => call(`delete ${k}`, () => store.delete(k)),
  });
  return { calls, wrap, call };
}

const outcome: EnrichmentOutcome = { status: 'partial', parts: { summary: { status: 'ok' }, 'translation:de': { status: 'failed', reason: 'malformed reply' } } };

/** One enricher invocation for `jobId`, as functions/enricher.ts runs it (the enrich stage counted, not run). */
async function invocation(jobId: string, store: BlobStore, notifier: Notifier, enrichRuns: { n: number }) {
  if (await finishRecordedEnrichment(jobId, { store, notifier })) return;
  enrichRuns.n += 1;
  await endEnrichedJob({ type: 'job.completed', jobId, source: `s3://b/inbox/${jobId}.mp3`, resultKeys: [`results/${jobId}/transcript.json`] }, outcome, { store, notifier });
}

async function runWithCrash(kill: { call: number; when: 'before' | 'after' } | undefined, attempt?: number) {
  const store = createFsStore(await scratchDir('enricher-crash'));
  const jobId = `job-${kill ? `${kill.call}-${kill.when}` : 'clean'}`;
  if (attempt) await store.put(`jobs/${jobId}/request.json`, JSON.stringify({ jobId, tenant: 't', options: {}, attempt }));
  const published: { event: JobEvent; recordExisted: boolean }[] = [];
  const enrichRuns = { n: 0 };
  const invoke = async (k?: typeof kill) => {
    const env = environment(k);
    const notifier: Notifier = {
      notify: (event) => env.call('PutEvents', async () => void published.push({ event, recordExisted: await store.exists(enrichmentRecordKey(jobId)) })),
    };
    try {
      await invocation(jobId, env.wrap(store), notifier, enrichRuns);
      return { killed: false, calls: env.calls };
    } catch (err) {
      if (!(err instanceof Killed)) throw err;
      return { killed: true, calls: env.calls };
    }
  };
  const first = await invoke(kill);
  // SQS redelivers a failed invocation until one succeeds
  for (let i = 0; i < 3 && (await invoke()).killed; i++);
  const record = await readJsonIfExists<EnrichmentRecord>(store, enrichmentRecordKey(jobId));
  return { first, published, record, enrichRuns: enrichRuns.n };
}

describe('enricher: the end of an enriched job survives a crash at any call', () => {
  it('publishes only once the record exists, one eventId, settled record, no second run after the record', async () => {
    const clean = await runWithCrash(undefined);
    expect(clean.first.killed).toBe(false);
    const callCount = clean.first.calls.length;
    expect(callCount).toBeGreaterThanOrEqual(4);
    const problems: string[] = [];
    for (let call = 1; call <= callCount; call++) {
      for (const when of ['before', 'after'] as const) {
        const run = await runWithCrash({ call, when });
        const label = `${run.first.calls[call - 1]} (${when})`;
        if (!run.first.killed) problems.push(`${label}: the crash never fired`);
        if (run.published.length === 0) problems.push(`${label}: no event`);
        if (run.published.some((p) => !p.recordExisted)) problems.push(`${label}: an event went out before enrichment.json existed`);
        if (new Set(run.published.map((p) => webhookIdOf(p.event))).size !== 1) problems.push(`${label}: several event ids`);
        if (!run.record || run.record.outbox !== undefined) problems.push(`${label}: record ${JSON.stringify(run.record)}`);
        const recordWritten = run.first.calls.slice(0, when === 'after' ? call : call - 1).some((c) => c.startsWith('put '));
        if (recordWritten && run.enrichRuns !== 1) problems.push(`${label}: enrichments ran ${run.enrichRuns} times although the record was written`);
        for (const p of run.published) expect(p.event).toMatchObject({ type: 'job.completed', enrichment: outcome });
      }
    }
    expect(problems).toEqual([]);
  });

  it('stamps the attempt of a retried job on its final event (an id of its own)', async () => {
    const retried = await runWithCrash(undefined, 2);
    const first = await runWithCrash(undefined);
    expect(retried.published[0]?.event).toMatchObject({ type: 'job.completed', attempt: 2 });
    expect(webhookIdOf(retried.published[0]!.event)).not.toBe(webhookIdOf({ ...retried.published[0]!.event, attempt: undefined } as JobEvent));
    expect(first.published[0]?.event).not.toHaveProperty('attempt');
  });
});
