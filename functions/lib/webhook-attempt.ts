/**
 * One webhook queue message = one delivery attempt (the AWS counterpart of the in-process loop in
 * `shared/adapters/webhook-delivery.ts`, whose signing, SSRF guard, per-attempt timeout and verdicts it
 * reuses with a one-attempt schedule):
 *
 * - `notBefore` still ahead → re-send the task with the remaining wait (≤ 900 s per hop) and stop;
 * - resolve the target once (the job's `webhook.json`, else the stack default) and keep it in the task;
 * - already delivered, or the attempt is claimed by another message (the event was queued twice) → nothing
 *   to do (SQS and the producers are at-least-once);
 * - attempt: 2xx → delivered marker; 410 → stop; refused by the SSRF guard → dead letter;
 *   otherwise re-send with `attempt + 1` and `DelaySeconds` per `core/webhook-policy.ts`
 *   (waits over 15 min: 900 s and `notBefore`), or write the dead-letter record after the last attempt.
 *
 * Anything that throws (S3, Secrets Manager, SQS unavailable) fails the record: the event source mapping
 * redelivers it and, after `maxReceiveCount`, moves it to the webhook DLQ.
 */
import {
  type AttemptRecord,
  createWebhookDelivery,
  type DeadLetterRecord,
  deadLetterKey,
  describeAttempt,
  safeUrl,
  storeDeadLetters,
  type WebhookSender,
} from '../../shared/adapters/webhook-delivery.js';
import { snippetOf, type WebhookDetails, webhookIdOf, webhookMessageOf } from '../../shared/adapters/webhook-notifier.js';
import type { UrlPolicy } from '../../shared/adapters/ssrf-guard.js';
import { AlreadyExistsError, PermanentError } from '../../shared/core/errors.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript } from '../../shared/core/types.js';
import { maxAttemptsOf, retryDelayMs, WEBHOOK_RETRY_SCHEDULE_MS } from '../../shared/core/webhook-policy.js';
import { targetWants, WebhookTarget, webhookTargetKey } from '../../shared/core/webhook-target.js';
import type { BlobStore, Logger } from '../../shared/ports.js';
import { readJson, readJsonIfExists, writeJson } from '../../shared/stages/store-json.js';
import { SQS_MAX_DELAY_SECONDS, type WebhookQueueSend, type WebhookTask } from './webhook-queue.js';

/** What one attempt needs. Built once per container (`webhookDepsFromEnv`). */
export interface WebhookAttemptDeps {
  readonly store: BlobStore;
  /** Re-sends a task to the webhook queue. */
  readonly send: WebhookQueueSend;
  /** Epoch ms: `notBefore` checks and attempt times. */
  readonly now: () => number;
  /** Stack-wide receiver, when configured. */
  readonly defaultTarget?: WebhookTarget;
  /** The `whsec_…` key of a target: its `secretName`, else the stack default. */
  readonly secretOf: (secretName?: string) => Promise<string>;
  /** A time-limited GET link for a stored result. */
  readonly presign: (key: string) => Promise<string>;
  readonly urlPolicy: UrlPolicy;
  readonly attemptTimeoutMs: number;
  readonly logger: Logger;
  /** Waits between attempts. @default WEBHOOK_RETRY_SCHEDULE_MS */
  readonly schedule?: readonly number[];
  /** @default the guarded node:http(s) sender */
  readonly sender?: WebhookSender;
}

/** How one message ended (logged and counted). */
export type WebhookAttemptResult =
  | { readonly kind: 'deferred'; readonly delaySeconds: number }
  | { readonly kind: 'no-target' | 'not-subscribed' | 'already-delivered' | 'duplicate' | 'delivered' | 'stopped' | 'refused' | 'dead-lettered' }
  | { readonly kind: 'retry-scheduled'; readonly delaySeconds: number; readonly notBefore?: number };

/**
 * Per-event bookkeeping under `jobs/<jobId>/` (expired with the job's other intermediate state):
 * `delivered` is written on a 2xx; `attempt` is the claim of one attempt number by one queue message.
 */
export function webhookStateKeys(jobId: string, webhookId: string) {
  return jobKeys(jobId).webhook(webhookId);
}

/**
 * Run the attempt a webhook queue message stands for. `messageId` identifies the SQS message: the same
 * message received again (a crash, a timeout) may retry its attempt; another message for the same event
 * and attempt (the event queued twice) is dropped, so each event is delivered by one chain of attempts.
 */
export async function runWebhookAttempt(task: WebhookTask, messageId: string, deps: WebhookAttemptDeps): Promise<WebhookAttemptResult> {
  const { event } = task;
  const log = { jobId: event.jobId, type: event.type, attempt: task.attempt };
  const now = deps.now();
  if (task.notBefore !== undefined && task.notBefore > now) {
    const delaySeconds = Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil((task.notBefore - now) / 1000));
    await deps.send(task, delaySeconds);
    return { kind: 'deferred', delaySeconds };
  }

  const target = task.target ?? (await resolveTarget(event.jobId, deps));
  if (!target) {
    deps.logger.debug('no webhook for this job', log);
    return { kind: 'no-target' };
  }
  if (!targetWants(target, event.type)) return { kind: 'not-subscribed' };

  const webhookId = webhookIdOf(event);
  const keys = webhookStateKeys(event.jobId, webhookId);
  // A replay (generation > 0) is an explicit request to send again.
  if (task.generation === 0 && (await deps.store.exists(keys.delivered))) {
    deps.logger.info('webhook already delivered; duplicate message dropped', { ...log, webhookId });
    return { kind: 'already-delivered' };
  }
  if (!(await claimAttempt(deps.store, keys.attempt(task.generation, task.attempt), messageId))) {
    deps.logger.info('another message owns this attempt; duplicate dropped', { ...log, webhookId });
    return { kind: 'duplicate' };
  }

  const message = webhookMessageOf(event, await detailsOf(task, deps), new Date(task.occurredAt));
  let refusal: string | undefined;
  const delivery = createWebhookDelivery({
    url: target.url,
    secret: await deps.secretOf(target.secretName),
    urlPolicy: deps.urlPolicy,
    clock: { now: deps.now, sleep: () => Promise.reject(new Error('one attempt per message')) },
    // One attempt: the in-process "give up" is where this handler decides between retry and dead letter.
    schedule: [],
    attemptTimeoutMs: deps.attemptTimeoutMs,
    deadLetter: async (record) => {
      refusal = record.reason;
    },
    ...(deps.sender ? { send: deps.sender } : {}),
  });
  const outcome = await delivery.deliver(message);
  const attempts: AttemptRecord[] = [...task.attempts, ...outcome.attempts.map((a) => ({ ...a, attempt: task.attempt }))];
  const deadLetter = (result: DeadLetterRecord['result'], reason: string) =>
    writeDeadLetter(deps.store, { webhookId, type: event.type, jobId: event.jobId, result, attempts, url: safeUrl(target.url), body: message.body, reason }, deps.logger);

  switch (outcome.result) {
    case 'delivered':
      await writeJson(deps.store, keys.delivered, { webhookId, type: event.type, jobId: event.jobId, attempts });
      if (task.generation > 0) await deps.store.delete(deadLetterKey(event.jobId, webhookId)); // a replay that got through
      deps.logger.info('webhook delivered', { ...log, webhookId });
      return { kind: 'delivered' };
    case 'stopped':
      deps.logger.warn('webhook receiver answered 410 Gone; not retrying', { ...log, webhookId });
      return { kind: 'stopped' };
    case 'refused':
      await deadLetter('refused', refusal ?? 'refused');
      return { kind: 'refused' };
    case 'dead-lettered':
      break;
  }

  const last = attempts.at(-1);
  const delayMs = retryDelayMs(task.attempt, deps.schedule ?? WEBHOOK_RETRY_SCHEDULE_MS);
  if (delayMs === undefined) {
    const max = maxAttemptsOf(deps.schedule ?? WEBHOOK_RETRY_SCHEDULE_MS);
    await deadLetter('dead-lettered', `gave up after ${attempts.length} of ${max} attempts: ${describeAttempt(last)}`);
    return { kind: 'dead-lettered' };
  }
  const longWait = delayMs > SQS_MAX_DELAY_SECONDS * 1000;
  const next: WebhookTask = {
    ...task,
    attempt: task.attempt + 1,
    target,
    attempts,
    // Counted from the failed attempt as recorded (not from the start of this invocation, which came before the
    // store reads and the claim): the recorded attempts are then never closer together than the schedule says.
    ...(longWait ? { notBefore: (last?.at ?? now) + delayMs } : { notBefore: undefined }),
  };
  const delaySeconds = Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));
  await deps.send(next, delaySeconds);
  deps.logger.warn('webhook attempt failed; retry scheduled', { ...log, webhookId, delaySeconds, notBefore: next.notBefore, outcome: describeAttempt(last) });
  return { kind: 'retry-scheduled', delaySeconds, ...(next.notBefore !== undefined ? { notBefore: next.notBefore } : {}) };
}

/** The job's `webhook.json`, else the stack default, else none. A malformed file fails the record (and shows in the DLQ). */
async function resolveTarget(jobId: string, deps: WebhookAttemptDeps): Promise<WebhookTarget | undefined> {
  const raw = await readJsonIfExists<unknown>(deps.store, webhookTargetKey(jobId));
  if (raw === undefined) return deps.defaultTarget;
  const parsed = WebhookTarget.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PermanentError(`job ${jobId}: ${webhookTargetKey(jobId)} is invalid (${problems}); fix it and redrive the webhook DLQ`);
  }
  return parsed.data;
}

/** Duration, snippet and fresh presigned links (links are re-signed on every attempt so a late retry still carries working ones). */
async function detailsOf(task: WebhookTask, deps: WebhookAttemptDeps): Promise<WebhookDetails> {
  const { event } = task;
  const links = Object.fromEntries(
    await Promise.all(event.resultKeys.map(async (key) => [key.slice(key.lastIndexOf('.') + 1), await deps.presign(key)] as const)),
  );
  try {
    const t = await readJson<Transcript>(deps.store, jobKeys(event.jobId).result('json'));
    return { durationSeconds: t.durationSeconds, snippet: snippetOf(t.text), links };
  } catch {
    return { links };
  }
}

/** True when `messageId` owns attempt `key`: it claimed it now (`If-None-Match: *`), or did before and was received again. */
async function claimAttempt(store: BlobStore, key: string, messageId: string): Promise<boolean> {
  try {
    await store.put(key, messageId, { ifNoneMatch: '*', contentType: 'text/plain' });
    return true;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    return new TextDecoder().decode(await store.get(key)) === messageId;
  }
}

async function writeDeadLetter(store: BlobStore, record: DeadLetterRecord, logger: Logger): Promise<void> {
  logger.error('webhook dead-lettered', { jobId: record.jobId, webhookId: record.webhookId, type: record.type, reason: record.reason });
  await storeDeadLetters(store)(record);
}
