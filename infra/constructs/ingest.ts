import { type CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketNotificationDestinationConfig,
  BucketNotificationDestinationType,
  EventType,
  type IBucket,
  type IBucketNotificationDestination,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INBOX_PREFIX, JOBS_PREFIX, RESULTS_PREFIX } from '../../shared/core/keys.js';
import { WorkQueue } from './queues.js';

export interface IngestProps {
  /** Days before intermediate job state (`jobs/`: chunk audio, chunk results, manifests) expires. @default 7 */
  readonly retentionDays?: number;
  /** Days before uploads under `inbox/` expire; undefined keeps them. @default undefined (kept) */
  readonly inboxRetentionDays?: number;
  /** Days before `results/` expires (`-c resultsExpireDays`); undefined keeps results. @default undefined (kept) */
  readonly resultsExpireDays?: number;
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
          prefix: JOBS_PREFIX,
          expiration: Duration.days(props.retentionDays ?? 7),
          noncurrentVersionExpiration: Duration.days(1),
        },
        ...(props.inboxRetentionDays
          ? [{ id: 'expire-uploads', prefix: INBOX_PREFIX, expiration: Duration.days(props.inboxRetentionDays) }]
          : []),
        // The job API's records (`tenants/`) are kept: a job whose results expired still answers GET /jobs/{id}.
        ...(props.resultsExpireDays
          ? [{ id: 'expire-results', prefix: RESULTS_PREFIX, expiration: Duration.days(props.resultsExpireDays), noncurrentVersionExpiration: Duration.days(1) }]
          : []),
        { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    // 5 receives (AWS's advice for Lambda consumers: a throttled or crashed invocation also counts a receive).
    this.splitQueue = new WorkQueue(this, 'SplitQueue', { visibilityTimeout: props.splitVisibilityTimeout, maxReceiveCount: 5 });
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new SplitQueueDestination(this.splitQueue.queue), { prefix: INBOX_PREFIX });

    // The CDK-generated function that applies the notification configuration logs to a group that expires.
    const notificationsHandler = Stack.of(this).node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER_ID)?.node.defaultChild as CfnResource | undefined;
    if (notificationsHandler) {
      const logs = new LogGroup(this, 'BucketNotificationsLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
      notificationsHandler.addPropertyOverride('LoggingConfig', { LogGroup: logs.logGroupName, LogFormat: 'Text' });
    }
  }
}

/** The logical id CDK gives its singleton bucket-notifications function (`aws-s3/lib/notifications-resource`). */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/**
 * `SqsDestination` with the confused-deputy guard complete: S3 may send to the queue only for this bucket
 * (`aws:SourceArn`) and this account (`aws:SourceAccount`; bucket ARNs carry no account).
 */
export class SplitQueueDestination implements IBucketNotificationDestination {
  constructor(private readonly queue: IQueue) {}

  bind(_scope: Construct, bucket: IBucket): BucketNotificationDestinationConfig {
    this.queue.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [this.queue.queueArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(bucket).account },
        },
      }),
    );
    return { arn: this.queue.queueArn, type: BucketNotificationDestinationType.QUEUE, dependencies: [this.queue] };
  }
}
