import { type EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../core/errors.js';
import type { JobEvent, Notifier } from '../ports.js';
import { translateAwsError } from './aws-errors.js';
import { webhookIdOf } from './webhook-notifier.js';

/** Options of `createEventBridgeNotifier`. */
export interface EventBridgeNotifierOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
  /** Event `source`. @default 'voxpipe' */
  readonly source?: string;
  /** Also publish `voxpipe.job.progress` (one per finished chunk). @default false */
  readonly progress?: boolean;
}

/**
 * Notifier on EventBridge: each `JobEvent` becomes one event with detail-type `voxpipe.<type>`
 * (`voxpipe.job.completed`, `voxpipe.job.failed`) and the event as detail, plus `eventId`: stable per job and
 * event type (the webhook's `webhook-id`), so a consumer drops the repeat that an at-least-once stage may
 * publish after a crash (see `stages/outbox.ts`). PutEvents reports
 * per-entry failures in a 200 response; those become `TransientError` so the caller's queue retries.
 */
export function createEventBridgeNotifier(opts: EventBridgeNotifierOptions): Notifier {
  const source = opts.source ?? 'voxpipe';
  return {
    async notify(event: JobEvent) {
      if (event.type === 'job.progress' && !opts.progress) return;
      let res: PutEventsCommandOutput;
      try {
        res = await opts.client.send(
          new PutEventsCommand({
            Entries: [
              { EventBusName: opts.eventBusName, Source: source, DetailType: `voxpipe.${event.type}`, Detail: JSON.stringify({ ...event, eventId: webhookIdOf(event) }) },
            ],
          }),
        );
      } catch (err) {
        throw translateAwsError(err, `eventbridge ${event.type} for job ${event.jobId}`);
      }
      if ((res.FailedEntryCount ?? 0) > 0) {
        const entry = res.Entries?.find((e) => e.ErrorCode);
        throw new TransientError(`eventbridge ${event.type} for job ${event.jobId}: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ''}`.trim());
      }
    },
  };
}
