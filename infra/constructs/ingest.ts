import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { WorkQueue } from './queues.js';

export interface IngestProps {
  /** Days before intermediate job state (`jobs/`: chunk audio, chunk results, manifests) expires. @default 7 */
  readonly retentionDays?: number;
  /** Days before uploads under `inbox/` expire; undefined keeps them. @default undefined (kept) */
  readonly inboxRetentionDays?: number;
  /** Visibility timeout of the split queue: 6× the splitter's timeout. */
  readonly splitVisibilityTimeout: Duration;
  /** Removal policy of the buckets. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The ingest bucket and the queue its uploads land on.
 *
 * Trigger: an S3 event notification for `inbox/` ObjectCreated, delivered to an SQS queue that the
 * splitter consumes. Chosen over EventBridge because (1) the S3 notification filters by prefix natively
 * and costs nothing per event, (2) the queue buffers bursts, retries with a DLQ and an alarm like every
 * other stage (direct S3→Lambda is an async invoke with two retries and no backlog visibility), and
 * (3) the message body is the documented S3 event shape (URL-encoded keys), which the handler decodes.
 * Dedup of at-least-once notifications is the handler's conditional `source.claim` write.
 */
export class Ingest extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly splitQueue: WorkQueue;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioning gives every upload a version id (part of the job id: re-uploading the same key is a new job)
      // and protects results from accidental overwrites; noncurrent versions expire quickly.
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'ingest/',
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-intermediate-job-state',
          // S3 lifecycle filters match prefixes, not `jobs/*/audio/`: the whole intermediate tree expires.
          // Results live under `results/` and are kept.
          prefix: 'jobs/',
          expiration: Duration.days(props.retentionDays ?? 7),
          noncurrentVersionExpiration: Duration.days(1),
        },
        ...(props.inboxRetentionDays
          ? [{ id: 'expire-uploads', prefix: 'inbox/', expiration: Duration.days(props.inboxRetentionDays) }]
          : []),
        { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.splitQueue = new WorkQueue(this, 'SplitQueue', { visibilityTimeout: props.splitVisibilityTimeout, maxReceiveCount: 3 });
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.splitQueue.queue), { prefix: 'inbox/' });
  }
}
