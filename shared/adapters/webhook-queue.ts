/**
 * The webhook queue on AWS, as both runtimes need it: the SQS send that puts one task (shared/core/webhook-task.ts)
 * on the queue. The AWS handlers use it to raise and reschedule; `voxpipe webhooks replay` to requeue.
 *
 * One message = one event's next attempt. A failed attempt re-sends the same task with `attempt + 1`
 * and the attempts so far; the `webhook-id` is derived from the event, so it is the same on every attempt.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_DELAY_SECONDS, WebhookTask } from '../core/webhook-task.js';
import { translateAwsError } from './aws-errors.js';

export { SQS_MAX_DELAY_SECONDS, WebhookTask };

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
