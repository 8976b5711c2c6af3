/**
 * The end of an enriched job on AWS, crash-safe: `jobs/<jobId>/enrichment.json` is written *first*, with the
 * final `job.completed` still to publish (`outbox`), then the event is published, then the record is settled
 * (rewritten without the outbox). A crash between any two calls leaves a record a redelivery finishes: one with
 * an outbox publishes it (the same event, the same `eventId`: events are at-least-once with a stable id), one
 * without is a duplicate. Publishing first, as before, could send an event pointing at a record that never
 * got written, and a redelivery then ran every enrichment again.
 */
import type { BlobStore, EnrichmentOutcome, JobEvent, Notifier } from '../../shared/ports.js';
import { jobAttempt, stampAttempt } from '../../shared/stages/attempt.js';
import { readJsonIfExists, writeJson } from '../../shared/stages/store-json.js';
import { enrichmentRecordKey } from './enricher-handoff.js';

/** `jobs/<jobId>/enrichment.json`. */
export type EnrichmentRecord = EnrichmentOutcome & { readonly finishedAt: string; readonly outbox?: readonly JobEvent[] };

export interface EnrichmentEndDeps {
  readonly store: BlobStore;
  readonly notifier: Notifier;
}

/**
 * Finish what a recorded enrichment left: publish its outbox (then settle the record). True when the job's
 * enrichment had ended (its record exists): the message is then a redelivery and nothing is run again.
 */
export async function finishRecordedEnrichment(jobId: string, deps: EnrichmentEndDeps): Promise<boolean> {
  const record = await readJsonIfExists<EnrichmentRecord>(deps.store, enrichmentRecordKey(jobId));
  if (!record) return false;
  if (record.outbox) {
    for (const event of record.outbox) await deps.notifier.notify(event);
    const { outbox: _sent, ...settled } = record;
    await writeJson(deps.store, enrichmentRecordKey(jobId), settled);
  }
  return true;
}

/** Record the enrichment's outcome with the job's final `job.completed` (stamped with the job's attempt), then publish it. */
export async function endEnrichedJob(event: Extract<JobEvent, { type: 'job.completed' }>, outcome: EnrichmentOutcome, deps: EnrichmentEndDeps, now = new Date()): Promise<void> {
  const attempt = await jobAttempt(deps.store, event.jobId);
  const record: EnrichmentRecord = { ...outcome, finishedAt: now.toISOString(), outbox: stampAttempt([{ ...event, enrichment: outcome }], attempt) };
  await writeJson(deps.store, enrichmentRecordKey(event.jobId), record);
  for (const e of record.outbox ?? []) await deps.notifier.notify(e);
  const { outbox: _sent, ...settled } = record;
  await writeJson(deps.store, enrichmentRecordKey(event.jobId), settled);
}
