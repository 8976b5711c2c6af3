import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createEventBridgeNotifier } from '../../shared/adapters/eventbridge-notifier.js';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { createSqsQueue } from '../../shared/adapters/sqs-queue.js';
import type { JobReadyMessage } from '../../shared/core/messages.js';
import type { BlobStore, Logger as PortLogger, Notifier, WorkQueue } from '../../shared/ports.js';
import { createWebhookQueueNotifier, fanOutNotifier, sqsWebhookQueue } from './webhook-queue.js';

/**
 * The AWS clients and adapters of one Lambda container, built once at module scope.
 * Endpoints come from the SDK's own variables (`AWS_ENDPOINT_URL_SQS`, …) plus `VOXPIPE_S3_ENDPOINT`
 * for S3 emulators, which also need path-style addressing.
 */
export function s3Client(env: { VOXPIPE_S3_ENDPOINT?: string }): S3Client {
  return new S3Client({ requestHandler: TIMEOUTS, ...(env.VOXPIPE_S3_ENDPOINT ? { endpoint: env.VOXPIPE_S3_ENDPOINT, forcePathStyle: true } : {}) });
}

/**
 * A connection that stalls is abandoned (and retried by the SDK) instead of holding the invocation until
 * the Lambda timeout. `requestTimeout` is socket inactivity, so long streamed downloads are unaffected.
 */
const TIMEOUTS = { connectionTimeout: 5_000, requestTimeout: 30_000 };

export const sqsClient = (): SQSClient => new SQSClient({ requestHandler: TIMEOUTS });

export function bucketStore(env: { VOXPIPE_BUCKET: string; VOXPIPE_S3_ENDPOINT?: string }): BlobStore {
  return createS3Store({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });
}

/**
 * Where a handler's job events go: the EventBridge bus and, when the stack has webhooks
 * (`VOXPIPE_WEBHOOK_QUEUE_URL`, set by the `Webhooks` construct), the webhook queue. The queue send goes
 * first (the SDK retries it 3×), so a failing send fails the record before EventBridge has the event.
 * Terminal events go through the status outbox (`shared/stages/outbox.ts`): a redelivery after a failed or
 * interrupted publish sends them again, with the same `eventId`.
 */
export function jobNotifier(env: { VOXPIPE_EVENT_BUS_NAME: string; VOXPIPE_WEBHOOK_QUEUE_URL?: string }): Notifier {
  const bus = createEventBridgeNotifier({ client: new EventBridgeClient({ requestHandler: TIMEOUTS }), eventBusName: env.VOXPIPE_EVENT_BUS_NAME });
  const webhookQueueUrl = env.VOXPIPE_WEBHOOK_QUEUE_URL;
  if (!webhookQueueUrl) return bus;
  return fanOutNotifier([createWebhookQueueNotifier(sqsWebhookQueue(sqsClient(), webhookQueueUrl)), bus]);
}

/** The job notifier under its first name (EventBridge, plus webhooks when configured); see `jobNotifier`. */
export const eventBridgeNotifier = jobNotifier;

/** The fan-in hand-off: one `{ jobId }` message on the aggregate queue. */
export function aggregateHandoff(client: SQSClient, queueUrl: string): (jobId: string) => Promise<void> {
  const queue: WorkQueue<JobReadyMessage> = createSqsQueue({ client, queueUrl });
  return (jobId) => queue.send([{ jobId }]);
}

/** Powertools Logger and Metrics for one handler (service name from `POWERTOOLS_SERVICE_NAME`, read by Powertools). */
export function observability(env: { POWERTOOLS_METRICS_NAMESPACE?: string }): { logger: Logger; metrics: Metrics } {
  return { logger: new Logger(), metrics: new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'voxpipe' }) };
}

/** The port's Logger over a Powertools Logger (whose extra-attributes type is narrower than `Record<string, unknown>`). */
export function portLogger(logger: Logger): PortLogger {
  return {
    debug: (msg, extra) => logger.debug(msg, (extra ?? {}) as LogAttributes),
    info: (msg, extra) => logger.info(msg, (extra ?? {}) as LogAttributes),
    warn: (msg, extra) => logger.warn(msg, (extra ?? {}) as LogAttributes),
    error: (msg, extra) => logger.error(msg, (extra ?? {}) as LogAttributes),
  };
}

/** Flush metrics at the end of an invocation; an invocation that recorded none writes nothing. */
export function flushMetrics(metrics: Metrics): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
