import { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

export interface NotificationsProps {
  /** Name of the custom event bus. @default 'voxpipe' */
  readonly eventBusName?: string;
}

/**
 * Where job lifecycle events go: a custom EventBridge bus receiving `voxpipe.job.completed` and
 * `voxpipe.job.failed` (source `voxpipe`, detail = the `JobEvent`). Subscribers add rules on this bus;
 * webhooks (integrations issue) become rule targets here.
 */
export class Notifications extends Construct {
  readonly eventBus: EventBus;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    this.eventBus = new EventBus(this, 'Bus', { eventBusName: props.eventBusName ?? 'voxpipe' });
  }
}
