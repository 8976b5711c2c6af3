/**
 * What the DLQ consumer does with one dead-lettered message, with its AWS clients injected (the handler builds
 * them from the environment; crash tests wrap them). See `functions/dlq-consumer.ts`.
 */
import type { SQSRecord } from 'aws-lambda';
import { jobKeys } from '../../shared/core/keys.js';
import { ChunkTaskMessage, JobReadyMessage } from '../../shared/core/messages.js';
import type { BlobStore, Logger, Notifier } from '../../shared/ports.js';
import { recordDeadChunk } from '../../shared/stages/dead-letter.js';
import { failJob } from '../../shared/stages/fail.js';
import { flushOutbox, isTerminal, type StoredStatus } from '../../shared/stages/outbox.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';
import { type Upload, uploadJobId, uploadsOf } from './s3-event.js';
import { jsonBody } from './sqs-batch.js';

export interface DeadLetterDeps {
  readonly store: BlobStore;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** The fan-in hand-off to the aggregate queue. */
  readonly onJobReady: (jobId: string) => Promise<void>;
  /** The drop folder's publish-and-move (idempotent; a no-op for other jobs). */
  readonly finalizeDrop: (jobId: string) => Promise<unknown>;
  readonly provider: string;
  readonly model: string;
}

/** The kind of message handled, for logs and metrics. */
export type DeadLetterKind = 'chunk' | 'aggregate' | 'split';

/** A dead letter, recognised by the schema of the queue it died on (shared/core/messages.ts). */
export type DeadLetter =
  | { readonly kind: 'chunk'; readonly task: ChunkTaskMessage }
  | { readonly kind: 'aggregate'; readonly jobId: string }
  | { readonly kind: 'split'; readonly uploads: readonly Upload[] };

/**
 * Which queue's message `body` is: a chunk task (work DLQ), a job-ready hand-off (aggregate DLQ, parsed
 * strictly: a chunk task has a `jobId` too), else an S3 notification (split DLQ); anything else throws.
 */
export function classifyDeadLetter(body: unknown): DeadLetter {
  const chunk = ChunkTaskMessage.safeParse(body);
  if (chunk.success) return { kind: 'chunk', task: chunk.data };
  const ready = JobReadyMessage.strict().safeParse(body);
  if (ready.success) return { kind: 'aggregate', jobId: ready.data.jobId };
  return { kind: 'split', uploads: uploadsOf(body) };
}

/**
 * - split DLQ (an S3 notification): the upload could not be split → `failJob`;
 * - work DLQ (a chunk task): recorded as a failed chunk result, then the normal fan-in/aggregation fails the
 *   job with every chunk's outcome (`recordDeadChunk`);
 * - aggregate DLQ (`{ jobId }`): aggregation kept failing → `failJob`.
 * A finished job is left alone, unless its end was interrupted (an outbox in its status): that is finished.
 */
export async function deadLetterRecord(record: SQSRecord, deps: DeadLetterDeps): Promise<DeadLetterKind> {
  const receives = record.attributes.ApproximateReceiveCount;
  // Anything else must be an S3 notification; a parse error there keeps the message in the DLQ, where the alarm shows it.
  const letter = classifyDeadLetter(jsonBody(record));
  if (letter.kind === 'chunk') {
    const { task } = letter;
    deps.logger.error('chunk dead-lettered', { jobId: task.jobId, chunk: task.index });
    await recordDeadChunk(task, 'the transcriber failed on every delivery (see its logs for the errors); re-upload the file to retry', deps);
    return 'chunk';
  }
  if (letter.kind === 'aggregate') {
    const { jobId } = letter;
    await failIfRunning(jobId, `job ${jobId}: aggregation failed repeatedly (see the aggregator logs); re-upload the file to retry`, deps);
    return 'aggregate';
  }
  for (const upload of letter.uploads) {
    const source = `s3://${upload.bucket}/${upload.key}`;
    const jobId = uploadJobId(upload);
    await failIfRunning(jobId, `${source}: the splitter could not finish this upload in ${receives ?? 'several'} attempts (a fault or time-out on voxpipe's side, not a verdict on the file: a file ffmpeg cannot read fails at once with its own reason); see the splitter logs and alarms, then upload it again`, deps, source);
  }
  return 'split';
}

async function failIfRunning(jobId: string, reason: string, deps: DeadLetterDeps, source?: string): Promise<void> {
  const status = await readJsonIfExists<StoredStatus>(deps.store, jobKeys(jobId).status);
  const after = async (id: string) => void (await deps.finalizeDrop(id));
  if (isTerminal(status)) {
    // Its end may have been interrupted (ours, on an earlier receive, or the aggregator's): finish it.
    if (await flushOutbox(jobId, { store: deps.store, notifier: deps.notifier, after }, status)) return;
    deps.logger.info('dead letter for a finished job ignored', { jobId, state: status?.state });
    return;
  }
  await failJob({ jobId, source: status?.source ?? source ?? jobId, reason }, { store: deps.store, notifier: deps.notifier, logger: deps.logger, after });
}
