import { Duration } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { access, DROP_MOVER, grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';
import { WorkQueue } from './queues.js';

export interface EnricherProps {
  readonly bucket: IBucket;
  readonly eventBus: IEventBus;
  /** The aggregator: jobs that ask for enrichments are handed to the enrich queue instead of completing there. */
  readonly aggregator: LambdaFunction;
  /** Chat vendor: a provider of the registry with a chat endpoint (`CHAT_PROVIDERS`, shared/core/provider-catalog.ts). */
  readonly chatProvider: string;
  /** Chat model id. @default the vendor's Voxtral chat model */
  readonly chatModel?: string;
  /** Chat API root. @default the vendor's public endpoint */
  readonly chatBaseUrl?: string;
  /** The chat model's context window in tokens (requests are planned to fit it). @default 32 768 */
  readonly chatContextTokens?: number;
  /**
   * Secret holding the chat API key (plain string, or JSON with `apiKey`); read at cold start, never put in the
   * environment. @default none: calls go without a key (a self-hosted OpenAI-compatible server)
   */
  readonly chatApiKeySecret?: ISecret;
  /** Function timeout: every enrichment of one job (translation batches run in parallel). @default Duration.minutes(15) */
  readonly timeout?: Duration;
  /** Memory in MB; one transcript and its translations are held at once. @default 1024 */
  readonly memorySize?: number;
  /** Jobs enriched at once (event source `maxConcurrency`, 2–1000). @default 2 */
  readonly maxConcurrency?: number;
  /** Chat calls in flight per job. Fleet-wide at most `maxConcurrency × chatConcurrency`. @default 4 */
  readonly chatConcurrency?: number;
  /** Receives of a job before it moves to the DLQ; the last one completes the job with its enrichments failed. @default 5 (AWS advises ≥ 5 for Lambda consumers) */
  readonly maxReceiveCount?: number;
}

/**
 * Enrichments on Lambda (translations, summary, extraction, question): the enrich queue (with DLQ) and the
 * function that runs the enrich stage for a job after its transcript is complete, writes each result under
 * `results/<jobId>/` and sends the job's `job.completed` (with `enrichment`). The aggregator becomes a
 * producer: it gets `VOXPIPE_ENRICH_QUEUE_URL` and send permission.
 */
export class Enricher extends Construct {
  readonly fn: NodejsFunction;
  readonly queue: WorkQueue;

  constructor(scope: Construct, id: string, props: EnricherProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(15);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    this.queue = new WorkQueue(this, 'EnrichQueue', { visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6), maxReceiveCount });
    this.fn = createHandler(this, 'Function', {
      entryName: 'enricher',
      service: 'voxpipe-enricher',
      description: 'voxpipe enrich stage: translations, summary, extraction, question over the transcript',
      memorySize: props.memorySize ?? 1024,
      timeout,
      environment: {
        VOXPIPE_BUCKET: props.bucket.bucketName,
        VOXPIPE_EVENT_BUS_NAME: props.eventBus.eventBusName,
        VOXPIPE_CHAT_PROVIDER: props.chatProvider,
        VOXPIPE_CHAT_CONCURRENCY: String(props.chatConcurrency ?? 4),
        VOXPIPE_ENRICH_MAX_RECEIVES: String(maxReceiveCount),
        // Four attempts per chat call, each bounded, with ≤ 30 s of inline Retry-After.
        VOXPIPE_MAX_ATTEMPTS: '4',
        VOXPIPE_MAX_INLINE_WAIT_SECONDS: '30',
        VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: String(Math.min(120, Math.max(10, Math.floor(timeout.toSeconds() / 6)))),
        ...(props.chatModel ? { VOXPIPE_CHAT_MODEL: props.chatModel } : {}),
        ...(props.chatBaseUrl ? { VOXPIPE_CHAT_BASE_URL: props.chatBaseUrl } : {}),
        ...(props.chatContextTokens ? { VOXPIPE_CHAT_CONTEXT_TOKENS: String(props.chatContextTokens) } : {}),
        ...(props.chatApiKeySecret ? { VOXPIPE_CHAT_API_KEY_SECRET_ARN: props.chatApiKeySecret.secretArn } : {}),
      },
    });
    grantBucketAccess(props.bucket, this.fn, access(JOB_STATE, DROP_MOVER));
    props.eventBus.grantPutEventsTo(this.fn);
    props.chatApiKeySecret?.grantRead(this.fn);
    this.fn.addEventSource(
      new SqsEventSource(this.queue.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: Math.max(2, props.maxConcurrency ?? 2) }),
    );
    this.queue.queue.grantSendMessages(props.aggregator);
    props.aggregator.addEnvironment('VOXPIPE_ENRICH_QUEUE_URL', this.queue.queue.queueUrl);
  }
}
