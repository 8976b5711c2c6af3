/**
 * Notifier that sends job events as Standard Webhooks (https://www.standardwebhooks.com): a small JSON
 * body signed with HMAC-SHA256 (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`).
 *
 * In process: `notify` starts the delivery and returns at once (the pipeline never waits on a
 * receiver); `settle` waits for deliveries to end. Deliveries live as long as the process does —
 * the local CLI settles before it exits. On AWS the same payload and signing go through a queue instead.
 */
import { createHash } from 'node:crypto';
import type { EnrichmentOutcome, JobEvent, Notifier } from '../ports.js';
import type { DeliveryOutcome, WebhookDelivery, WebhookMessage } from './webhook-delivery.js';

/** Event types a webhook can carry. */
export type WebhookEventType = JobEvent['type'];

/** The JSON body of every webhook (the Standard Webhooks `{ type, timestamp, data }` shape). */
export interface WebhookPayload {
  readonly type: WebhookEventType;
  /** When the event happened, ISO 8601. */
  readonly timestamp: string;
  readonly data: WebhookData;
}

/** `data` of a webhook payload. Optional fields are absent when unknown. */
export interface WebhookData {
  readonly jobId: string;
  /** The input file (local path or S3 key); absent on `job.progress`. */
  readonly source?: string;
  readonly status: 'completed' | 'failed' | 'running';
  /** Why the job failed (`job.failed`). */
  readonly reason?: string;
  /** Audio length in seconds. */
  readonly durationSeconds?: number;
  /** The first characters of the transcript text. */
  readonly snippet?: string;
  /** Result object keys (json, txt, srt, vtt). */
  readonly resultKeys?: readonly string[];
  /** Where the results can be fetched: `file://` URLs locally, presigned URLs on AWS. */
  readonly links?: Readonly<Record<string, string>>;
  /** How translations, summary, extraction and the question ended, when the job asked for any (`job.completed`). */
  readonly enrichment?: EnrichmentOutcome;
  /** The new revision of the transcript (`job.transcript.edited` only). */
  readonly revision?: number;
  /** `job.progress` only. */
  readonly chunksDone?: number;
  readonly chunksTotal?: number;
}

/** Extra facts about a finished job that the event itself does not carry (read from the store). */
export type WebhookDetails = Pick<WebhookData, 'durationSeconds' | 'snippet' | 'links'>;

/** Options of `createWebhookNotifier`. */
export interface WebhookNotifierOptions {
  readonly delivery: WebhookDelivery;
  /** Also send `job.progress` (one per finished chunk). @default false */
  readonly progress?: boolean;
  /** Look up duration, snippet and links of a finished job. A failure here only drops those fields. */
  readonly details?: (event: JobEvent) => Promise<WebhookDetails>;
  /** Event time. @default () => new Date() */
  readonly now?: () => Date;
  /** Called when a delivery ends. */
  readonly onOutcome?: (outcome: DeliveryOutcome) => void;
}

/** A `Notifier` whose deliveries can be awaited. */
export interface WebhookNotifier extends Notifier {
  /**
   * Wait until every delivery started so far (of `jobId` only, when given) has ended: delivered,
   * stopped by a 410, refused or dead-lettered. Resolves with their outcomes.
   */
  settle(jobId?: string): Promise<DeliveryOutcome[]>;
}

/** Build the webhook notifier. */
export function createWebhookNotifier(opts: WebhookNotifierOptions): WebhookNotifier {
  const now = opts.now ?? (() => new Date());
  const inFlight = new Map<string, Promise<DeliveryOutcome>[]>();

  return {
    async notify(event) {
      if (event.type === 'job.progress' && !opts.progress) return;
      const details = event.type === 'job.progress' || !opts.details ? {} : await opts.details(event).catch(() => ({}));
      const message = webhookMessageOf(event, details, now());
      const delivery = opts.delivery.deliver(message).then((outcome) => {
        opts.onOutcome?.(outcome);
        return outcome;
      });
      const list = inFlight.get(event.jobId) ?? [];
      list.push(delivery);
      inFlight.set(event.jobId, list);
    },
    async settle(jobId) {
      const lists = jobId === undefined ? [...inFlight.values()] : [inFlight.get(jobId) ?? []];
      return Promise.all(lists.flat());
    },
  };
}

/** The signed message for an event: stable id, exact body. */
export function webhookMessageOf(event: JobEvent, details: WebhookDetails, at: Date): WebhookMessage {
  const payload = webhookPayloadOf(event, details, at);
  return { id: webhookIdOf(event), type: event.type, jobId: event.jobId, body: JSON.stringify(payload) };
}

/**
 * `webhook-id` of an event, derived from what identifies it (job, type, progress count, revision, the attempt
 * of a retried job), so a retry of the delivery — or the same event raised twice by an at-least-once stage —
 * carries the same id and receivers can dedupe, while a retried job's new end has an id of its own.
 */
export function webhookIdOf(event: JobEvent): string {
  const key =
    event.type === 'job.progress'
      ? `${event.jobId}:${event.type}:${event.chunksDone}`
      : event.type === 'job.transcript.edited'
        ? `${event.jobId}:${event.type}:${event.revision}`
        : event.attempt !== undefined && event.attempt > 1
          ? `${event.jobId}:${event.type}:attempt-${event.attempt}`
          : `${event.jobId}:${event.type}`;
  return `msg_${createHash('sha256').update(key).digest('base64url').slice(0, 27)}`;
}

/** The JSON payload of an event. */
export function webhookPayloadOf(event: JobEvent, details: WebhookDetails, at: Date): WebhookPayload {
  const timestamp = at.toISOString();
  switch (event.type) {
    case 'job.progress':
      return {
        type: event.type,
        timestamp,
        data: { jobId: event.jobId, status: 'running', chunksDone: event.chunksDone, chunksTotal: event.chunksTotal },
      };
    case 'job.completed':
      return {
        type: event.type,
        timestamp,
        data: {
          jobId: event.jobId,
          source: event.source,
          status: 'completed',
          ...details,
          resultKeys: event.resultKeys,
          ...(event.enrichment ? { enrichment: event.enrichment } : {}),
        },
      };
    case 'job.failed':
      return {
        type: event.type,
        timestamp,
        data: { jobId: event.jobId, source: event.source, status: 'failed', reason: event.reason, ...details, resultKeys: event.resultKeys },
      };
    case 'job.transcript.edited':
      return {
        type: event.type,
        timestamp,
        data: { jobId: event.jobId, source: event.source, status: 'completed', revision: event.revision, ...details, resultKeys: event.resultKeys },
      };
  }
}

/** The first `max` characters of a transcript, cut at a word boundary, with an ellipsis when cut. */
export function snippetOf(text: string, max = 280): string | undefined {
  const t = text.trim().replace(/\s+/g, ' ');
  if (!t) return undefined;
  if (t.length <= max) return t;
  const cut = t.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
