import { Duration } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';
import { WorkQueue } from './queues.js';

export interface TranscriberStageProps {
  readonly bucket: IBucket;
  /** Where the fan-in winner sends `{ jobId }` (from `Aggregator`). */
  readonly aggregateQueue: IQueue;
  /** Holds the provider API key (a plain string secret). Read at cold start, never put in the environment. */
  readonly apiKeySecret: ISecret;
  readonly provider: string;
  readonly model: string;
  /** Provider base URL (required for `openai-compatible`). @default the provider's public endpoint */
  readonly baseUrl?: string;
  /**
   * Max concurrent model calls across all Lambdas: the event source mapping's `maxConcurrency`.
   * SQS event sources accept 2–1000, so values below 2 become 2. @default 8
   */
  readonly concurrency?: number;
  /**
   * Chunk messages per invocation, processed one after another so that in-flight model calls never
   * exceed `concurrency`. @default 1
   */
  readonly batchSize?: number;
  /** Function timeout: one model call with its in-process retries. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** Receives before a chunk message moves to the DLQ (rate-limit waits do not count). @default 5 */
  readonly maxReceiveCount?: number;
  /** Memory in MB; the function holds one chunk (≤ 25 MB FLAC) and its request body. @default 1024 */
  readonly memorySize?: number;
}

/**
 * The transcribe stage on Lambda: the chunk work queue (with DLQ) and the function that makes one model
 * call per chunk, writes `jobs/<id>/chunks/<index>.json`, and — if it completes the job — wins the
 * `aggregate.claim` and enqueues the aggregation.
 */
export class TranscriberStage extends Construct {
  readonly fn: NodejsFunction;
  readonly workQueue: WorkQueue;
  readonly maxConcurrency: number;

  constructor(scope: Construct, id: string, props: TranscriberStageProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(5);
    const batchSize = props.batchSize ?? 1;
    this.maxConcurrency = Math.max(2, props.concurrency ?? 8);
    this.workQueue = new WorkQueue(this, 'WorkQueue', {
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      maxReceiveCount: props.maxReceiveCount ?? 5,
    });
    this.fn = createHandler(this, 'Function', {
      entryName: 'transcriber',
      service: 'voxpipe-transcriber',
      description: 'voxpipe transcribe stage: one model call per chunk, fan-in claim',
      memorySize: props.memorySize ?? 1024,
      timeout,
      environment: {
        VOXPIPE_BUCKET: props.bucket.bucketName,
        VOXPIPE_WORK_QUEUE_URL: this.workQueue.queue.queueUrl,
        VOXPIPE_AGGREGATE_QUEUE_URL: props.aggregateQueue.queueUrl,
        VOXPIPE_API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        VOXPIPE_PROVIDER: props.provider,
        VOXPIPE_MODEL: props.model,
        VOXPIPE_CONCURRENCY: String(this.maxConcurrency),
        // Two attempts per invocation, plus ≤ 10 s of inline Retry-After, must fit the function timeout.
        VOXPIPE_MAX_ATTEMPTS: '2',
        VOXPIPE_MAX_INLINE_WAIT_SECONDS: '10',
        VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: String(Math.max(10, Math.floor((timeout.toSeconds() - 30) / 2))),
        ...(props.baseUrl ? { VOXPIPE_BASE_URL: props.baseUrl } : {}),
      },
    });
    grantBucketAccess(props.bucket, this.fn, JOB_STATE);
    props.aggregateQueue.grantSendMessages(this.fn);
    props.apiKeySecret.grantRead(this.fn);
    // ChangeMessageVisibility (rate-limit backoff) is part of consume.
    this.workQueue.queue.grantConsumeMessages(this.fn);
    // Rate-limit deferral re-sends the chunk message to this queue with DelaySeconds (shared/stages/transcribe.ts).
    this.workQueue.queue.grantSendMessages(this.fn);
    this.fn.addEventSource(
      new SqsEventSource(this.workQueue.queue, {
        batchSize,
        maxBatchingWindow: batchSize > 1 ? Duration.seconds(1) : undefined,
        reportBatchItemFailures: true,
        maxConcurrency: this.maxConcurrency,
      }),
    );
  }
}
