import { Duration } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RESULTS_PREFIX, everyObjectUnder as under, WEBHOOKS_PREFIX } from '../../shared/core/keys.js';
import { WEBHOOK_SECRET_PREFIX } from '../../shared/core/webhook-target.js';
import { access, grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';
import { WorkQueue } from './queues.js';

export interface WebhooksProps {
  readonly bucket: IBucket;
  /** Secrets Manager secret holding the default `whsec_…` signing key (never a plaintext value in the template). */
  readonly signingSecret: ISecret;
  /** Stack-wide receiver (https). A job's `jobs/<jobId>/webhook.json` overrides it. @default none: only jobs with a webhook.json */
  readonly defaultUrl?: string;
  /** An attempt without a response after this long is abandoned and retried later. @default Duration.seconds(15) */
  readonly attemptTimeout?: Duration;
  /** Messages per invocation; they are attempted concurrently. @default 10 */
  readonly batchSize?: number;
  /** Concurrent invocations (event source `maxConcurrency`). @default 10 */
  readonly maxConcurrency?: number;
  /** Receives of a message whose handling crashed before it moves to the webhook DLQ. @default 5 */
  readonly maxReceiveCount?: number;
}

/**
 * Signed webhooks on AWS. Producers (`addProducer`) put `job.completed` / `job.failed` on the webhook
 * queue; the webhook function makes one attempt per message and schedules the next attempt by re-sending
 * the message with `DelaySeconds` (waits over 15 min hop through the queue with a `notBefore` time), so a
 * slow receiver never holds a function for its backoff. Retries are new messages, not redeliveries: the
 * queue's redrive (→ DLQ) only catches crashes (S3, Secrets Manager or SQS failing), and the DLQ depth alarms.
 * Exhausted deliveries are written to `webhooks/dead-letter/<jobId>/<webhookId>.json`.
 */
export class Webhooks extends Construct {
  readonly queue: WorkQueue;
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const attemptTimeout = props.attemptTimeout ?? Duration.seconds(15);
    // All records of a batch run at once: one attempt, plus S3, Secrets Manager and SQS calls.
    const timeout = Duration.seconds(attemptTimeout.toSeconds() + 30);
    this.queue = new WorkQueue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      maxReceiveCount: props.maxReceiveCount ?? 5,
    });
    this.fn = createHandler(this, 'Function', {
      entryName: 'webhook-delivery',
      service: 'voxpipe-webhooks',
      description: 'voxpipe: deliver signed job webhooks (one attempt per message, retries through the queue)',
      timeout,
      memorySize: 256,
      environment: {
        VOXPIPE_BUCKET: props.bucket.bucketName,
        VOXPIPE_WEBHOOK_QUEUE_URL: this.queue.queue.queueUrl,
        // The name, not `secretArn`: a secret imported by name only has a partial ARN, which GetSecretValue may not resolve.
        VOXPIPE_WEBHOOK_SECRET_ID: props.signingSecret.secretName,
        VOXPIPE_WEBHOOK_ATTEMPT_TIMEOUT_SECONDS: String(attemptTimeout.toSeconds()),
        ...(props.defaultUrl ? { VOXPIPE_WEBHOOK_URL: props.defaultUrl } : {}),
      },
    });
    grantBucketAccess(props.bucket, this.fn, access(JOB_STATE, { read: [under(RESULTS_PREFIX), under(WEBHOOKS_PREFIX)], write: [under(WEBHOOKS_PREFIX)], delete: [under(WEBHOOKS_PREFIX)] }));
    this.queue.queue.grantSendMessages(this.fn);
    props.signingSecret.grantRead(this.fn);
    // Per-job secrets (`webhook.json` "secretName") may only come from under this prefix.
    Secret.fromSecretNameV2(this, 'PerJobSecrets', `${WEBHOOK_SECRET_PREFIX}*`).grantRead(this.fn);
    this.fn.addEventSource(
      new SqsEventSource(this.queue.queue, {
        batchSize: props.batchSize ?? 10,
        maxConcurrency: props.maxConcurrency ?? 10,
        reportBatchItemFailures: true,
      }),
    );
  }

  /** Let a pipeline function queue webhooks: send permission and `VOXPIPE_WEBHOOK_QUEUE_URL`. */
  addProducer(fn: LambdaFunction): void {
    this.queue.queue.grantSendMessages(fn);
    fn.addEnvironment('VOXPIPE_WEBHOOK_QUEUE_URL', this.queue.queue.queueUrl);
  }
}
