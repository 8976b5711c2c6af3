/**
 * The aggregator's side of enrichment on AWS. A job whose options ask for translations, a summary, an
 * extraction or a question is not finished when its transcript is: the aggregator's `job.completed` becomes
 * a `{ jobId }` message on the enrich queue, and the enricher sends `job.completed` (with `enrichment`) once
 * the enrichments ran. Failed jobs and jobs without enrichments end at the aggregator as before.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsQueue } from '../../shared/adapters/sqs-queue.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { EnrichMessage } from '../../shared/core/messages.js';
import type { JobManifest } from '../../shared/core/types.js';
import type { Logger, Notifier } from '../../shared/ports.js';
import type { BlobStore } from '../../shared/ports.js';
import { wantsEnrichment } from '../../shared/stages/enrich.js';
import { readJson } from '../../shared/stages/store-json.js';

/** The enrich queue's message (shared/core/messages.ts). */
export type { EnrichMessage } from '../../shared/core/messages.js';

/** Written by the enricher once the job's final event went out: its presence makes a redelivery a duplicate. */
export const enrichmentRecordKey = (jobId: string): string => jobKeys(jobId).enrichmentRecord;

export interface EnrichHandoffOptions {
  readonly store: BlobStore;
  /** The job's own event channel (EventBridge, plus webhooks when configured). */
  readonly notifier: Notifier;
  readonly sqs: SQSClient;
  /** Unset when the stack has no enricher: requested enrichments are logged and skipped. */
  readonly queueUrl?: string;
  readonly logger: Logger;
}

export interface EnrichHandoff {
  /**
   * The notifier for the aggregate stage of `jobId`. When the job asks for enrichments, its `job.completed`
   * is turned into the enrich hand-off instead of being published; `handedOff()` then returns true and the
   * enricher owns the end of the job (final event, drop-folder publishing).
   */
  forJob(jobId: string): Promise<{ readonly notifier: Notifier; handedOff(): boolean }>;
  // No `resume`: a hand-off a crash held back stays in the job's status outbox and goes out on redelivery.
}

export function enrichHandoff(opts: EnrichHandoffOptions): EnrichHandoff {
  const queue = opts.queueUrl ? createSqsQueue<EnrichMessage>({ client: opts.sqs, queueUrl: opts.queueUrl }) : undefined;
  const wants = async (jobId: string) => wantsEnrichment((await readJson<JobManifest>(opts.store, jobKeys(jobId).manifest)).options);
  return {
    async forJob(jobId) {
      if (!(await wants(jobId))) return { notifier: opts.notifier, handedOff: () => false };
      if (!queue) {
        opts.logger.warn('the job asks for enrichments but this stack has no enricher (deploy with -c enrich=true); completing without them', { jobId });
        return { notifier: opts.notifier, handedOff: () => false };
      }
      let handedOff = false;
      return {
        notifier: {
          async notify(event) {
            if (event.type !== 'job.completed') return opts.notifier.notify(event);
            await queue.send([{ jobId }]);
            handedOff = true;
            opts.logger.info('transcript complete; enrichments handed to the enricher', { jobId });
          },
        },
        handedOff: () => handedOff,
      };
    },
  };
}
