/**
 * Every queue message voxpipe sends to itself, as zod schemas with their `z.infer` types: the producers type
 * what they send with them and the consumers parse with them, so both sides agree by construction (a contract
 * test sends through the real producers and parses with these).
 *
 * ```
 * work queue       ChunkTaskMessage   split stage → transcriber (and the transcriber's rate-limit re-send)
 * aggregate queue  JobReadyMessage    transcriber's fan-in winner (and the DLQ consumer) → aggregator
 * enrich queue     EnrichMessage      aggregator's hand-off → enricher
 * webhook queue    WebhookTask        any handler's job event → webhook delivery (shared/core/webhook-task.ts)
 * DLQs             the message of their queue; the split DLQ holds S3 notifications (not ours: s3-event.ts)
 * ```
 */
import { z } from 'zod';
import type { ChunkTask } from './types.js';

export { WebhookTask } from './webhook-task.js';

const jobId = z.string().min(1);

/** One chunk to transcribe: everything the transcribe stage needs (`ChunkTask`). */
export const ChunkTaskMessage = z.object({
  jobId,
  index: z.number().int().min(0),
  /** Absolute start/end of the chunk audio in the source, seconds. */
  start: z.number(),
  end: z.number(),
  /** BlobStore key of the chunk's FLAC. */
  audioKey: z.string().min(1),
  language: z.string().optional(),
  words: z.boolean(),
  diarize: z.boolean(),
  /** Words and phrases to bias recognition towards (`JobOptions.vocabulary`). */
  vocabulary: z.array(z.string()).readonly().optional(),
  /** Speech stretches of the chunk (absolute times), for the content guard. */
  speech: z.array(z.object({ start: z.number(), end: z.number() })).readonly().optional(),
});
export type ChunkTaskMessage = z.infer<typeof ChunkTaskMessage>;

/** A job whose chunks are all done: aggregate it. (The DLQ consumer parses it `.strict()`: a chunk task has a `jobId` too.) */
export const JobReadyMessage = z.object({ jobId });
export type JobReadyMessage = z.infer<typeof JobReadyMessage>;

/** A job whose transcript is done and whose options ask for enrichments: run them. */
export const EnrichMessage = z.object({ jobId });
export type EnrichMessage = z.infer<typeof EnrichMessage>;

// The message is the stage's `ChunkTask`, field for field: neither can gain a field the other lacks.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const chunkTaskIsTheMessage: Same<ChunkTask, ChunkTaskMessage> = true;
const chunkTaskHasTheMessageFields: Same<keyof ChunkTask, keyof ChunkTaskMessage> = true;
void chunkTaskIsTheMessage;
void chunkTaskHasTheMessageFields;
