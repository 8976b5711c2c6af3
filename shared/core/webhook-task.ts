/**
 * The body of a webhook queue message (AWS): one job event on its way through its delivery attempts.
 * A zod schema, so the producers (pipeline handlers, `voxpipe webhooks replay`) and the consumer (the
 * webhook Lambda) parse and type the same thing. The SQS send is in shared/adapters/webhook-queue.ts.
 */
import { z } from 'zod';
import { WebhookTarget } from './webhook-target.js';

/** SQS refuses `DelaySeconds` above 15 minutes: longer waits hop through the queue with `notBefore`. */
export const SQS_MAX_DELAY_SECONDS = 900;

/** `EnrichmentOutcome` (shared/ports.ts): the final `job.completed` of an enriched job carries it to the payload. */
const EnrichmentOutcomeSchema = z.object({
  status: z.enum(['ok', 'partial', 'failed']),
  parts: z.record(z.string(), z.object({ status: z.enum(['ok', 'failed']), reason: z.string().optional() })),
});

const TerminalEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('job.completed'),
    jobId: z.string().min(1),
    source: z.string(),
    resultKeys: z.array(z.string()).readonly(),
    enrichment: EnrichmentOutcomeSchema.optional(),
    /** The job's attempt when it was retried: part of the event's `webhook-id`. */
    attempt: z.number().int().min(2).optional(),
  }),
  z.object({
    type: z.literal('job.failed'),
    jobId: z.string().min(1),
    source: z.string(),
    reason: z.string(),
    resultKeys: z.array(z.string()).readonly(),
    attempt: z.number().int().min(2).optional(),
  }),
  z.object({
    type: z.literal('job.transcript.edited'),
    jobId: z.string().min(1),
    source: z.string(),
    revision: z.number().int().min(1),
    resultKeys: z.array(z.string()).readonly(),
  }),
]);

const AttemptRecordSchema = z.object({
  attempt: z.number().int().min(1),
  at: z.number(),
  status: z.number().int().optional(),
  error: z.string().optional(),
  verdict: z.enum(['delivered', 'stop', 'retry']),
});

/** The body of a webhook queue message. */
export const WebhookTask = z.object({
  v: z.literal(1),
  /** The job event, as the stage raised it. */
  event: TerminalEvent,
  /** When the event happened (the payload's `timestamp`, the same on every attempt). */
  occurredAt: z.iso.datetime(),
  /** 1-based number of the attempt this message is for. */
  attempt: z.number().int().min(1),
  /** Where to send; resolved on the first attempt (job's `webhook.json`, else the stack default) and kept. */
  target: WebhookTarget.optional(),
  /** Epoch ms before which the attempt must not run: a wait longer than SQS's 15-minute delay cap. */
  notBefore: z.number().int().optional(),
  /** Which delivery chain this is: 0 for the event as raised, a fresh number per `voxpipe webhooks replay`. */
  generation: z.number().int().min(0).default(0),
  /** Earlier attempts, for the dead-letter record. */
  attempts: z.array(AttemptRecordSchema).default([]),
});
export type WebhookTask = z.output<typeof WebhookTask>;
