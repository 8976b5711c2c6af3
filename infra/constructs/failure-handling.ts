import { Duration } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { access, DROP_MOVER, grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';

export interface FailureHandlingProps {
  readonly bucket: IBucket;
  readonly eventBus: IEventBus;
  /** A dead chunk is recorded as a failed chunk result; the job then fails through the normal fan-in and aggregation. */
  readonly aggregateQueue: IQueue;
  /** Named in the failed chunk result. */
  readonly provider: string;
  readonly model: string;
  /** Dead-letter queues of the split, work and aggregate queues. */
  readonly deadLetterQueues: readonly IQueue[];
  /** A job not completed or failed this long after its last status update is failed by the sweeper. @default Duration.hours(6) */
  readonly jobDeadline?: Duration;
  /** How often the sweeper runs. @default Duration.minutes(30) */
  readonly sweepEvery?: Duration;
}

/**
 * Nothing stays "running" forever:
 * - the DLQ consumer fails the job of every dead-lettered message (split, chunk or aggregate) with a reason;
 * - the sweeper fails jobs whose status has not moved for `jobDeadline` (a lost message, a crashed claim winner).
 */
export class FailureHandling extends Construct {
  readonly dlqConsumer: NodejsFunction;
  readonly sweeper: NodejsFunction;

  constructor(scope: Construct, id: string, props: FailureHandlingProps) {
    super(scope, id);
    const common = { VOXPIPE_BUCKET: props.bucket.bucketName, VOXPIPE_EVENT_BUS_NAME: props.eventBus.eventBusName };

    this.dlqConsumer = createHandler(this, 'DlqConsumer', {
      entryName: 'dlq-consumer',
      service: 'voxpipe-dlq-consumer',
      description: 'voxpipe: fail the job of every dead-lettered message',
      timeout: Duration.minutes(1),
      environment: {
        ...common,
        VOXPIPE_AGGREGATE_QUEUE_URL: props.aggregateQueue.queueUrl,
        VOXPIPE_PROVIDER: props.provider,
        VOXPIPE_MODEL: props.model,
      },
    });
    props.aggregateQueue.grantSendMessages(this.dlqConsumer);
    for (const dlq of props.deadLetterQueues) {
      this.dlqConsumer.addEventSource(new SqsEventSource(dlq, { batchSize: 10, reportBatchItemFailures: true }));
    }

    this.sweeper = createHandler(this, 'Sweeper', {
      entryName: 'sweeper',
      service: 'voxpipe-sweeper',
      description: 'voxpipe: fail jobs stuck past their deadline',
      timeout: Duration.minutes(5),
      environment: { ...common, VOXPIPE_JOB_DEADLINE_MINUTES: String((props.jobDeadline ?? Duration.hours(6)).toMinutes()) },
    });
    new Rule(this, 'SweepSchedule', {
      schedule: Schedule.rate(props.sweepEvery ?? Duration.minutes(30)),
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 2 })],
    });

    for (const fn of [this.dlqConsumer, this.sweeper]) {
      grantBucketAccess(props.bucket, fn, access(JOB_STATE, DROP_MOVER));
      props.eventBus.grantPutEventsTo(fn);
    }
  }
}
