import { Annotations, Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { WorkQueue } from './queues.js';

export interface MonitoringProps {
  /** Queues to watch: DLQ depth and oldest-message age. */
  readonly queues: Readonly<Record<string, WorkQueue>>;
  /** Functions to watch for errors. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Oldest message age (seconds) above which a queue is stuck. @default 900 */
  readonly maxMessageAgeSeconds?: number;
  /** Email subscribed to the alarm topic. @default no topic, alarms without actions */
  readonly alarmEmail?: string;
  /** CloudWatch namespace of the handlers' Powertools metrics. @default 'voxpipe' */
  readonly metricsNamespace?: string;
}

/**
 * Alarms: any message in a DLQ, a queue whose oldest message is older than `maxMessageAgeSeconds`,
 * handler errors, and jobs past their deadline (the sweeper's `JobsSwept` metric). With `alarmEmail`, alarms notify an SNS topic with that subscription.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    let action: IAlarmAction | undefined;
    if (props.alarmEmail) {
      this.topic = new Topic(this, 'AlarmTopic', { displayName: 'voxpipe alarms', enforceSSL: true });
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      action = new SnsAction(this.topic);
    } else {
      Annotations.of(this).addWarning(
        `no -c alarmEmail: the stack's alarms have no action, so DLQ depth, stuck queues, handler errors and FfmpegUnusable notify nobody; deploy with -c alarmEmail=ops@example.com or subscribe to the alarms yourself`,
      );
    }
    const add = (alarm: Alarm) => {
      if (action) alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };

    for (const [name, q] of Object.entries(props.queues)) {
      add(
        new Alarm(this, `${name}DlqDepth`, {
          alarmDescription: `voxpipe ${name} DLQ has messages: their jobs were failed by the DLQ consumer, or it is failing itself`,
          metric: q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      add(
        new Alarm(this, `${name}OldestMessage`, {
          alarmDescription: `voxpipe ${name} queue: oldest message older than ${props.maxMessageAgeSeconds ?? 900} s (consumers stuck or throttled)`,
          metric: q.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
          threshold: props.maxMessageAgeSeconds ?? 900,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 5,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    /** An alarm on any count of one of the handlers' Powertools metrics within `minutes`. */
    const onCount = (id: string, metricName: string, service: string, minutes: number, alarmDescription: string) =>
      add(
        new Alarm(this, id, {
          alarmDescription,
          metric: new Metric({
            namespace: props.metricsNamespace ?? 'voxpipe',
            metricName,
            dimensionsMap: { service },
            period: Duration.minutes(minutes),
            statistic: 'Sum',
          }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    onCount('JobsPastDeadline', 'JobsSwept', 'voxpipe-sweeper', 15, 'voxpipe jobs past their deadline: the sweeper failed them (a lost hand-off or a stuck stage); see their status.json reason');
    // The splitter's cold-start check found an ffmpeg that cannot split: every upload waits (and dead-letters).
    onCount(
      'FfmpegUnusable',
      'FfmpegUnusable',
      'voxpipe-splitter',
      5,
      "voxpipe splitter: the layer's ffmpeg/ffprobe cannot run or lacks what the split needs (see the splitter logs); uploads are retried and then dead-lettered, not failed as bad files",
    );
    // A split that failed for a reason other than the file (ffmpeg killed, a full /tmp): retried, counted here
    // at once rather than only when the message reaches the DLQ.
    onCount('SplitterInfrastructureErrors', 'InfrastructureErrors', 'voxpipe-splitter', 5, 'voxpipe splitter: uploads failed for infrastructure reasons (ffmpeg killed, disk full, tool fault); they are retried, not failed as bad files');
    for (const [name, fn] of Object.entries(props.functions)) {
      add(
        new Alarm(this, `${name}Errors`, {
          alarmDescription: `voxpipe ${name} function errors`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }
}
