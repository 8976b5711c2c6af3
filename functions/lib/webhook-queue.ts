/**
 * The webhook queue on AWS, producer side: the
 * `Notifier` the pipeline's handlers use to put events on the queue (the message schema and the SQS send
 * are in shared/adapters/webhook-queue.ts).
 *
 * One message = one event's next attempt. A failed attempt re-sends the same task with `attempt + 1`
 * and the attempts so far; the `webhook-id` is derived from the event, so it is the same on every attempt.
 */
import type { WebhookQueueSend } from '../../shared/adapters/webhook-queue.js';
import type { JobEvent, Notifier } from '../../shared/ports.js';

// The task schema and the SQS send live in shared/ (the CLI's `webhooks replay` uses them too).
export { SQS_MAX_DELAY_SECONDS, sqsWebhookQueue, WebhookTask, type WebhookQueueSend } from '../../shared/adapters/webhook-queue.js';

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
