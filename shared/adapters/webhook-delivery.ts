/**
 * At-least-once delivery of one signed webhook message to one URL, in process: attempt, classify
 * (`core/webhook-policy.ts`), sleep per the schedule on the injected `Clock`, and write a dead-letter
 * record when attempts run out. Every attempt carries the same `webhook-id` and is signed afresh
 * with the current `webhook-timestamp` (receivers reject timestamps older than 5 minutes).
 *
 * Each attempt has its own timeout (real time: it bounds real I/O), so a hung receiver costs one
 * timeout per attempt and never blocks other deliveries, which run concurrently.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { PermanentError, errorMessage } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import { type AttemptVerdict, maxAttemptsOf, retryDelayMs, verdictOf, WEBHOOK_RETRY_SCHEDULE_MS } from '../core/webhook-policy.js';
import type { BlobStore, Clock, Logger } from '../ports.js';
import { checkWebhookUrl, guardedLookup, redactUrl, type UrlPolicy } from './ssrf-guard.js';

/** One event, ready to send: the exact body that is signed, and its stable id. */
export interface WebhookMessage {
  /** `webhook-id`: the same on every attempt, and for the same event sent twice, so receivers can dedupe. */
  readonly id: string;
  readonly type: string;
  readonly jobId: string;
  readonly body: string;
}

/** What happened on one attempt. */
export interface AttemptRecord {
  /** 1-based. */
  readonly attempt: number;
  /** `Clock.now()` when the attempt started. */
  readonly at: number;
  /** HTTP status, when the receiver answered. */
  readonly status?: number;
  /** Timeout, connection or refusal message, when it did not. */
  readonly error?: string;
  readonly verdict: AttemptVerdict;
}

/** How a delivery ended. `stopped`: the receiver answered 410 Gone. `refused`: the URL failed the SSRF guard. */
export interface DeliveryOutcome {
  readonly webhookId: string;
  readonly type: string;
  readonly jobId: string;
  readonly result: 'delivered' | 'stopped' | 'dead-lettered' | 'refused';
  readonly attempts: readonly AttemptRecord[];
}

/** Written when a delivery gives up, so it can be inspected and replayed. */
export interface DeadLetterRecord extends DeliveryOutcome {
  /** The URL without query or credentials. */
  readonly url: string;
  readonly body: string;
  readonly reason: string;
}

/** Sends one signed POST; resolves with the status, rejects on timeout or connection failure. Injectable for tests. */
export type WebhookSender = (url: URL, body: string, headers: Record<string, string>, signal: AbortSignal) => Promise<number>;

/** Options of `createWebhookDelivery`. */
export interface WebhookDeliveryOptions {
  readonly url: string;
  /** `whsec_…` (base64 key after the prefix), as the Standard Webhooks libraries expect. */
  readonly secret: string;
  readonly urlPolicy: UrlPolicy;
  /** Schedules backoff sleeps. */
  readonly clock: Clock;
  /** Where a delivery that gives up is recorded. */
  readonly deadLetter: (record: DeadLetterRecord) => Promise<void>;
  /** Waits between attempts. @default WEBHOOK_RETRY_SCHEDULE_MS (12 attempts over 31 h) */
  readonly schedule?: readonly number[];
  /** An attempt without a response after this long is abandoned and retried. @default 15_000 */
  readonly attemptTimeoutMs?: number;
  /** Wall time for `webhook-timestamp`. @default () => new Date() */
  readonly signingTime?: () => Date;
  /** @default a node:http(s) POST that never follows redirects and connects through the SSRF guard */
  readonly send?: WebhookSender;
  readonly logger?: Logger;
}

/** Delivers messages to one URL. */
export interface WebhookDelivery {
  /** Deliver until 2xx, 410, refusal or the last attempt. Never rejects (a dead-letter write failure is logged). */
  deliver(message: WebhookMessage, signal?: AbortSignal): Promise<DeliveryOutcome>;
}

/** Build a delivery for `opts.url`. Throws when the secret is not a valid `whsec_` secret. */
export function createWebhookDelivery(opts: WebhookDeliveryOptions): WebhookDelivery {
  const signer = new Webhook(opts.secret);
  const schedule = opts.schedule ?? WEBHOOK_RETRY_SCHEDULE_MS;
  const timeoutMs = opts.attemptTimeoutMs ?? 15_000;
  const signingTime = opts.signingTime ?? (() => new Date());
  const send = opts.send ?? createHttpSender(opts.urlPolicy);

  async function attemptOnce(url: URL, message: WebhookMessage, attempt: number, signal?: AbortSignal): Promise<AttemptRecord> {
    const at = opts.clock.now();
    const timestamp = signingTime();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'voxpipe-webhooks/1',
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signer.sign(message.id, timestamp, message.body),
    };
    const attemptSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    try {
      const status = await send(url, message.body, headers, attemptSignal);
      return { attempt, at, status, verdict: verdictOf(status) };
    } catch (err) {
      // A host that resolves to a blocked address at connect time: retrying cannot help.
      const verdict: AttemptVerdict = err instanceof PermanentError ? 'stop' : 'retry';
      const error = attemptSignal.aborted && !signal?.aborted ? `no response within ${timeoutMs} ms` : errorMessage(err);
      return { attempt, at, error, verdict };
    }
  }

  async function giveUp(message: WebhookMessage, outcome: DeliveryOutcome, reason: string): Promise<DeliveryOutcome> {
    const record: DeadLetterRecord = { ...outcome, url: safeUrl(opts.url), body: message.body, reason };
    opts.logger?.error('webhook dead-lettered', { jobId: message.jobId, webhookId: message.id, type: message.type, reason });
    try {
      await opts.deadLetter(record);
    } catch (err) {
      opts.logger?.error('webhook dead-letter write failed', { webhookId: message.id, error: errorMessage(err) });
    }
    return outcome;
  }

  return {
    async deliver(message, signal) {
      const base = { webhookId: message.id, type: message.type, jobId: message.jobId };
      const attempts: AttemptRecord[] = [];
      let url: URL;
      try {
        url = await checkWebhookUrl(opts.url, opts.urlPolicy);
      } catch (err) {
        if (err instanceof PermanentError) return giveUp(message, { ...base, result: 'refused', attempts }, err.message);
        // The name does not resolve right now: attempts fail and are retried; the guarded lookup still checks each connection.
        url = new URL(opts.url);
      }
      const max = maxAttemptsOf(schedule);
      for (let attempt = 1; ; attempt++) {
        const record = await attemptOnce(url, message, attempt, signal);
        attempts.push(record);
        if (record.verdict === 'delivered') {
          opts.logger?.info('webhook delivered', { jobId: message.jobId, webhookId: message.id, type: message.type, attempt });
          return { ...base, result: 'delivered', attempts };
        }
        if (record.verdict === 'stop' && record.status === 410) {
          opts.logger?.warn('webhook receiver answered 410 Gone; not retrying', { jobId: message.jobId, webhookId: message.id });
          return { ...base, result: 'stopped', attempts };
        }
        if (record.verdict === 'stop') return giveUp(message, { ...base, result: 'refused', attempts }, record.error ?? 'refused');
        const delay = retryDelayMs(attempt, schedule);
        if (delay === undefined || signal?.aborted) {
          return giveUp(message, { ...base, result: 'dead-lettered', attempts }, `gave up after ${attempts.length} of ${max} attempts: ${describeAttempt(record)}`);
        }
        opts.logger?.warn('webhook attempt failed; retrying', { webhookId: message.id, attempt, delayMs: delay, outcome: describeAttempt(record) });
        try {
          await opts.clock.sleep(delay, signal);
        } catch {
          return giveUp(message, { ...base, result: 'dead-lettered', attempts }, `cancelled after ${attempts.length} attempts: ${describeAttempt(record)}`);
        }
      }
    },
  };
}

/** Dead letters as JSON in a BlobStore, under `webhooks/dead-letter/<jobId>/<webhookId>.json`. */
export function storeDeadLetters(store: BlobStore): (record: DeadLetterRecord) => Promise<void> {
  return (record) =>
    store.put(deadLetterKey(record.jobId, record.webhookId), JSON.stringify(record, null, 2), { contentType: 'application/json' });
}

/** Key of a dead-letter record. */
export function deadLetterKey(jobId: string, webhookId: string): string {
  return jobKeys(jobId).deadLetter(webhookId);
}

/**
 * POST with node:http(s). Redirects are never followed (a 3xx is a failed attempt), and host names are
 * resolved through the SSRF guard at connect time. Resolves with the status as soon as the headers
 * arrive; the body is drained and discarded.
 */
export function createHttpSender(policy: UrlPolicy): WebhookSender {
  const lookup = guardedLookup(policy);
  return (url, body, headers, signal) =>
    new Promise<number>((resolve, reject) => {
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(
        url,
        { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup, signal, agent: false },
        (res) => {
          // The status is the answer; a body that trickles in must not turn a 2xx into a timeout.
          resolve(res.statusCode ?? 0);
          res.on('error', () => undefined);
          res.resume();
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** One attempt's outcome in a sentence: `HTTP 503`, or the network error. */
export function describeAttempt(record: AttemptRecord | undefined): string {
  if (!record) return 'no attempt';
  return record.status !== undefined ? `HTTP ${record.status}` : (record.error ?? 'failed');
}

/** A URL fit for logs and dead-letter records: credentials and query removed. */
export function safeUrl(raw: string): string {
  try {
    return redactUrl(new URL(raw));
  } catch {
    return '(invalid URL)';
  }
}
