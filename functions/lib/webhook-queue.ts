/**
 * The webhook queue on AWS: the message that carries one job event through its delivery attempts, the
 * `Notifier` the pipeline's handlers use to put events on it, and the SQS send the webhook Lambda uses
 * to schedule the next attempt.
 *
 * One message = one event's next attempt. A failed attempt re-sends the same task with `attempt + 1`
 * and the attempts so far; the `webhook-id` is derived from the event, so it is the same on every attempt.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { translateAwsError } from '../../shared/adapters/aws-errors.js';
import { WebhookTarget } from '../../shared/core/webhook-target.js';
import type { JobEvent, Notifier } from '../../shared/ports.js';

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
  }),
  z.object({ type: z.literal('job.failed'), jobId: z.string().min(1), source: z.string(), reason: z.string(), resultKeys: z.array(z.string()).readonly() }),
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

/** Puts a task on the webhook queue, visible after `delaySeconds` (0–900). */
export type WebhookQueueSend = (task: WebhookTask, delaySeconds: number) => Promise<void>;

/** The SQS send of the webhook queue. SDK errors become `TransientError` / `PermanentError`. */
export function sqsWebhookQueue(client: SQSClient, queueUrl: string): WebhookQueueSend {
  return async (task, delaySeconds) => {
    try {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(task),
          DelaySeconds: Math.max(0, Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil(delaySeconds))),
        }),
      );
    } catch (err) {
      throw translateAwsError(err, `webhook queue: ${task.event.type} of job ${task.event.jobId} (attempt ${task.attempt})`);
    }
  };
}

/**
 * `Notifier` that queues `job.completed` and `job.failed` for webhook delivery (progress events are not
 * sent as webhooks on AWS). Whether the job has a webhook at all is decided by the webhook Lambda, which
 * knows the stack default and reads the job's `webhook.json`.
 */
export function createWebhookQueueNotifier(send: WebhookQueueSend, now: () => Date = () => new Date()): Notifier {
  return {
    async notify(event: JobEvent) {
      if (event.type === 'job.progress') return;
      await send({ v: 1, event, occurredAt: now().toISOString(), attempt: 1, generation: 0, attempts: [] }, 0);
    },
  };
}

/** Several notifiers as one: each is called in turn; the first failure fails the call (the caller's queue retries). */
export function fanOutNotifier(notifiers: readonly Notifier[]): Notifier {
  return {
    async notify(event) {
      for (const n of notifiers) await n.notify(event);
    },
  };
}
