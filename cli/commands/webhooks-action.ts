/**
 * `voxpipe webhooks replay <jobId>`: send a job's final event again, with its original `webhook-id`, so a
 * receiver that dedupes on the id treats a replay of something it already has as a duplicate.
 *
 * - Locally (default): each dead-letter record under `<work-dir>/store/webhooks/dead-letter/<jobId>/` is
 *   re-sent with the exact body that was signed before (freshly signed now); a record that gets through is
 *   removed. Without dead-letter records, the final event is rebuilt from the job's stored result.
 * - On AWS (`--bucket` and `--queue-url`): each dead-letter record in the bucket is put back on the webhook
 *   queue as a new delivery chain (attempt 1, full retry schedule); the webhook Lambda sends it to the job's
 *   current target and removes the record once delivered. Without dead letters, the final event is rebuilt
 *   from `results/<jobId>/transcript.json` and queued the same way.
 *
 * The action of the command, loaded with `import()` when it runs; its definition (options, help) is ./webhooks.ts.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createWebhookDelivery, type DeadLetterRecord, deadLetterKey, type WebhookMessage } from '../../shared/adapters/webhook-delivery.js';
import { snippetOf, webhookIdOf, webhookMessageOf, type WebhookPayload } from '../../shared/adapters/webhook-notifier.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError, errorMessage } from '../../shared/core/errors.js';
import { RESULT_FORMATS } from '../../shared/core/formats.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript } from '../../shared/core/types.js';
import type { BlobStore, JobEvent } from '../../shared/ports.js';
import { systemClock } from '../../shared/providers/call-policy.js';
import { jobAttempt } from '../../shared/stages/attempt.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';
import { WebhookTask } from '../../shared/core/webhook-task.js';

/** Per-attempt timeout of a local replay. */
const REPLAY_TIMEOUT_MS = 10_000;

/** Options of `voxpipe webhooks replay`, as commander parses them. */
export interface ReplayFlags {
  webhook?: string;
  webhookSecret?: string;
  workDir?: string;
  bucket?: string;
  queueUrl?: string;
}

/** `voxpipe webhooks replay`: run it (called by ./webhooks.ts when the command runs). */
export async function replayCommand(jobId: string, flags: ReplayFlags): Promise<void> {
  if (flags.bucket || flags.queueUrl) {
    if (!flags.bucket || !flags.queueUrl) throw new ConfigError('replay on AWS needs both --bucket <BucketName> and --queue-url <WebhookQueueUrl>');
    await replayOnAws(jobId, flags.bucket, flags.queueUrl);
    return;
  }
  await replayLocally(jobId, flags);
}

async function replayLocally(jobId: string, flags: ReplayFlags): Promise<void> {
  const secret = flags.webhookSecret ?? process.env.VOXPIPE_WEBHOOK_SECRET;
  if (!secret) throw new ConfigError('replay signs the events: pass --webhook-secret whsec_… or set VOXPIPE_WEBHOOK_SECRET');
  const explicitUrl = flags.webhook ?? process.env.VOXPIPE_WEBHOOK_URL;
  // The same validation as `transcribe` (whsec_ format, URL); the record's URL stands in when none is given.
  const config = loadConfig(process.env, {
    VOXPIPE_WORK_DIR: flags.workDir,
    VOXPIPE_WEBHOOK_URL: explicitUrl ?? 'http://127.0.0.1/',
    VOXPIPE_WEBHOOK_SECRET: secret,
  });
  const storeRoot = join(config.workDir, 'store');
  const store = createFsStore(storeRoot);

  const pending = await pendingMessages(store, storeRoot, jobId);
  if (pending.length === 0) {
    process.stderr.write(`voxpipe: job ${jobId} has no dead-lettered webhook and no result in ${storeRoot}; check the job id and --work-dir\n`);
    process.exitCode = 1;
    return;
  }
  let ok = true;
  for (const { message, recordedUrl, fromDeadLetter } of pending) {
    const url = explicitUrl ?? recordedUrl;
    if (!url) throw new ConfigError(`job ${jobId}: no receiver for ${message.type}; pass --webhook <url> or set VOXPIPE_WEBHOOK_URL`);
    const delivery = createWebhookDelivery({
      url,
      secret: config.webhookSecret ?? secret,
      urlPolicy: { mode: 'local' },
      clock: systemClock,
      schedule: [], // one attempt: a replay is run by hand, and run again by hand
      attemptTimeoutMs: REPLAY_TIMEOUT_MS,
      deadLetter: async () => undefined, // the existing record stays as it is
    });
    const outcome = await delivery.deliver(message);
    const last = outcome.attempts.at(-1);
    const answer = last?.status !== undefined ? `HTTP ${last.status}` : (last?.error ?? outcome.result);
    process.stdout.write(`webhook ${message.type} ${message.id}: ${outcome.result === 'dead-lettered' ? 'failed' : outcome.result} (${answer})\n`);
    if (outcome.result === 'delivered' && fromDeadLetter) await store.delete(deadLetterKey(jobId, message.id));
    if (outcome.result !== 'delivered' && outcome.result !== 'stopped') ok = false;
  }
  process.exitCode = ok ? 0 : 1;
}

interface PendingMessage {
  readonly message: WebhookMessage;
  readonly recordedUrl?: string;
  readonly fromDeadLetter: boolean;
}

/** The job's dead-lettered messages, else its final event rebuilt from the stored result. */
async function pendingMessages(store: BlobStore, storeRoot: string, jobId: string): Promise<PendingMessage[]> {
  const records = await deadLetters(store, jobId);
  if (records.length > 0) {
    return records.map((r) => ({ message: { id: r.webhookId, type: r.type, jobId: r.jobId, body: r.body }, recordedUrl: r.url, fromDeadLetter: true }));
  }
  const transcript = await readJsonIfExists<Transcript>(store, jobKeys(jobId).result('json'));
  const event = await finalEventOf(store, jobId, transcript);
  if (!event || !transcript) return [];
  const links = Object.fromEntries(
    event.resultKeys.map((key) => [key.slice(key.lastIndexOf('.') + 1), pathToFileURL(join(storeRoot, ...key.split('/'))).href]),
  );
  const message = webhookMessageOf(event, { durationSeconds: transcript.durationSeconds, snippet: snippetOf(transcript.text), links }, new Date());
  return [{ message, fromDeadLetter: false }];
}

/** The job's `job.completed` / `job.failed` as the stage raised it, rebuilt from its stored result; undefined without one. */
async function finalEventOf(
  store: BlobStore,
  jobId: string,
  known?: Transcript,
): Promise<Extract<JobEvent, { type: 'job.completed' | 'job.failed' }> | undefined> {
  const transcript = known ?? (await readJsonIfExists<Transcript>(store, jobKeys(jobId).result('json')));
  if (!transcript) return undefined;
  const resultKeys: string[] = [];
  for (const ext of RESULT_FORMATS) {
    if (await store.exists(jobKeys(jobId).result(ext))) resultKeys.push(jobKeys(jobId).result(ext));
  }
  // A job restarted by the API's retry ended under its attempt's id (shared/stages/attempt.ts): re-raise that one.
  const attempt = await jobAttempt(store, jobId);
  const stamp = attempt > 1 ? { attempt } : {};
  return transcript.status === 'completed'
    ? { type: 'job.completed', jobId, source: transcript.source, resultKeys, ...stamp }
    : { type: 'job.failed', jobId, source: transcript.source, reason: transcript.error ?? 'failed', resultKeys, ...stamp };
}

async function deadLetters(store: BlobStore, jobId: string): Promise<DeadLetterRecord[]> {
  const out: DeadLetterRecord[] = [];
  for await (const key of store.list(jobKeys(jobId).deadLettersPrefix)) {
    if (!key.endsWith('.json')) continue;
    const record = await readJsonIfExists<DeadLetterRecord>(store, key);
    if (record) out.push(record);
  }
  return out;
}

/** Put the bucket's dead letters of a job back on the webhook queue, each as a new delivery chain. */
async function replayOnAws(jobId: string, bucket: string, queueUrl: string): Promise<void> {
  // Loaded here, not at the CLI's start: only `replay --bucket` needs the AWS SDK.
  const { awsWebhookReplay } = await import('../webhooks-aws.js');
  const aws = awsWebhookReplay(bucket, queueUrl);
  try {
    const { store, send } = aws;
    const generation = Date.now();
    const records = await deadLetters(store, jobId);
    for (const record of records) {
      await send(taskOf(record, generation), 0);
      process.stdout.write(`webhook ${record.type} ${record.webhookId}: queued for delivery (was ${record.result}: ${record.reason})\n`);
    }
    if (records.length === 0) {
      const event = await finalEventOf(store, jobId);
      if (!event) {
        process.stderr.write(`voxpipe: job ${jobId} has no dead-lettered webhook and no result in s3://${bucket}; check the job id and --bucket\n`);
        process.exitCode = 1;
        return;
      }
      await send(WebhookTask.parse({ v: 1, event, occurredAt: new Date().toISOString(), attempt: 1, generation, attempts: [] }), 0);
      process.stdout.write(`webhook ${event.type} ${webhookIdOf(event)}: queued for delivery (rebuilt from the job's result)\n`);
    }
    process.exitCode = 0;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    process.stderr.write(`voxpipe: replay of job ${jobId} on AWS failed: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  } finally {
    aws.close();
  }
}

/** The queue task of a dead-lettered event: the event as the payload describes it, at its original time. */
function taskOf(record: DeadLetterRecord, generation: number): WebhookTask {
  const payload = JSON.parse(record.body) as WebhookPayload;
  const d = payload.data;
  const event = {
    type: payload.type,
    jobId: d.jobId,
    source: d.source ?? '',
    resultKeys: d.resultKeys ?? [],
    ...(payload.type === 'job.failed' ? { reason: d.reason ?? 'failed' } : {}),
  };
  return WebhookTask.parse({ v: 1, event, occurredAt: payload.timestamp, attempt: 1, generation, attempts: [] });
}
