import { Duration } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { access, DROP_MOVER, grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';
import { WorkQueue } from './queues.js';

export interface AggregatorProps {
  readonly bucket: IBucket;
  readonly eventBus: IEventBus;
  /** Function timeout. Stitching 1,200 chunk results of a 10-h file takes seconds. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** Memory in MB: all chunk results of a job are held at once. @default 1024 */
  readonly memorySize?: number;
}

/**
 * The aggregate stage on Lambda, fed by its own queue.
 *
 * Why a queue and not an async invoke from the fan-in winner: the claim is written exactly once, so the
 * hand-off must not be lost. `SendMessage` returns only once SQS has stored the message; the queue retries
 * with visibility timeouts, has a DLQ (whose consumer fails the job) and shows its backlog and age in the
 * same alarms as every other stage. An async invoke also retries, but its failures go to a separate
 * destination mechanism and are invisible in queue metrics.
 */
export class Aggregator extends Construct {
  readonly fn: NodejsFunction;
  readonly queue: WorkQueue;

  constructor(scope: Construct, id: string, props: AggregatorProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(5);
    this.queue = new WorkQueue(this, 'AggregateQueue', { visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6), maxReceiveCount: 5 });
    this.fn = createHandler(this, 'Function', {
      entryName: 'aggregator',
      service: 'voxpipe-aggregator',
      description: 'voxpipe aggregate stage: stitch chunk results, write transcript.<ext> per output format',
      memorySize: props.memorySize ?? 1024,
      timeout,
      environment: {
        VOXPIPE_BUCKET: props.bucket.bucketName,
        VOXPIPE_EVENT_BUS_NAME: props.eventBus.eventBusName,
      },
    });
    grantBucketAccess(props.bucket, this.fn, access(JOB_STATE, DROP_MOVER));
    props.eventBus.grantPutEventsTo(this.fn);
    this.fn.addEventSource(new SqsEventSource(this.queue.queue, { batchSize: 1, reportBatchItemFailures: true }));
  }
}
