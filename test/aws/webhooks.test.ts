/**
 * Signed webhooks on AWS, in-process: the pipeline's job notifier (`jobNotifier`, as the aggregator, splitter,
 * DLQ consumer and sweeper build it) puts events on a webhook queue in local-aws-sqs; an event source
 * mapping feeds them to the webhook Lambda's handler (`createWebhookHandler` over `webhookDepsFromEnv`),
 * which reads targets from s3rver, secrets from the Secrets Manager double, and POSTs to a receiver on
 * 127.0.0.1 that verifies with `standardwebhooks`.
 *
 * Time: the handler's clock is virtual. The queue send is wrapped to record the `DelaySeconds` and
 * `notBefore` the handler asked for, advance the virtual clock by that delay, and enqueue at once, so a
 * 31-hour retry schedule runs in seconds and the assertions are on the values the handler produced.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DeadLetterRecord, deadLetterKey } from '../../shared/adapters/webhook-delivery.js';
import { webhookIdOf, type WebhookPayload } from '../../shared/adapters/webhook-notifier.js';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import { retryDelayMs, WEBHOOK_RETRY_SCHEDULE_MS } from '../../shared/core/webhook-policy.js';
import { webhookTargetKey } from '../../shared/core/webhook-target.js';
import type { BlobStore, JobEvent, Notifier } from '../../shared/ports.js';
import type { WebhookQueueSend, WebhookTask } from '../../functions/lib/webhook-queue.js';
import { type AwsJsonDouble, startAwsJsonDouble } from './aws-json-double.js';
import { type ConditionalS3Proxy, startConditionalS3Proxy } from './conditional-s3-proxy.js';
import { FAKE_AWS, type S3Emulator, type SqsEmulator, startS3Emulator, startSqsEmulator, emulatedAwsEnv } from './emulators.js';
import { type EventSourceMapping, startEventSourceMapping, waitUntilDrained } from './event-source-mapping.js';
import { voxpipe } from '../e2e/run-cli.js';

const BUCKET = 'voxpipe-ingest';
const SECRET_NAME = 'voxpipe/webhook-signing';
const SECRET = `whsec_${Buffer.from('aws-webhook-secret-0123456789abcdef').toString('base64')}`;
const TENANT_SECRET_NAME = 'voxpipe/webhooks/tenant-a';
const TENANT_SECRET = `whsec_${Buffer.from('tenant-a-secret-0123456789abcdefgh').toString('base64')}`;

interface Received {
  readonly path: string;
  readonly id: string;
  readonly status: number;
  readonly payload?: WebhookPayload;
}

/** What the handler asked the queue for, in virtual time. */
interface Requeue {
  readonly task: WebhookTask;
  readonly delaySeconds: number;
  readonly at: number;
}

describe('AWS webhooks: queue → webhook Lambda → signed POST', () => {
  let s3rver: S3Emulator;
  let proxy: ConditionalS3Proxy;
  let sqsEmu: SqsEmulator;
  let json: AwsJsonDouble;
  let sqs: SQSClient;
  let s3: S3Client;
  let store: BlobStore;
  let receiver: Server;
  let base: string;
  let mapping: EventSourceMapping;
  let webhookQueueUrl: string;
  let notifier: Notifier;
  let saved: Record<string, string | undefined>;
  const received: Received[] = [];
  const requeues: Requeue[] = [];
  /** Failures the receiver still owes per path before it answers 204. */
  const downFor = new Map<string, number>();
  const hungOnce = new Set<string>();
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;

  beforeAll(async () => {
    s3rver = await startS3Emulator([]);
    proxy = await startConditionalS3Proxy(s3rver.endpoint);
    sqsEmu = await startSqsEmulator();
    json = await startAwsJsonDouble();
    json.secrets.set(SECRET_NAME, SECRET);
    json.secrets.set(TENANT_SECRET_NAME, JSON.stringify({ secret: TENANT_SECRET }));
    s3 = new S3Client({ ...FAKE_AWS, endpoint: proxy.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    store = createS3Store({ client: s3, bucket: BUCKET });
    sqs = sqsEmu.client();
    const queue = await queueWithDlq(sqs, 'webhooks');
    webhookQueueUrl = queue.url;

    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const path = req.url ?? '/';
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const id = headers['webhook-id'] ?? '';
      const owed = downFor.get(path) ?? 0;
      let status = 204;
      let payload: WebhookPayload | undefined;
      if (path.startsWith('/hang') && !hungOnce.has(path)) {
        hungOnce.add(path); // never answers: the attempt's timeout ends it
        received.push({ path, id, status: 0 });
        return;
      }
      if (path.startsWith('/gone')) status = 410;
      else if (path.startsWith('/down') || owed > 0) {
        status = 503;
        downFor.set(path, owed - 1);
      } else {
        try {
          const verifier = new Webhook(path.startsWith('/tenant') ? TENANT_SECRET : SECRET);
          payload = verifier.verify(Buffer.concat(chunks).toString('utf8'), headers) as WebhookPayload;
        } catch {
          status = 400;
        }
      }
      received.push({ path, id, status, payload });
      res.writeHead(status).end();
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const env: Record<string, string> = {
      ...emulatedAwsEnv({ sqs: sqsEmu.endpoint, json: json.endpoint, bucket: BUCKET, s3: proxy.endpoint }, 'voxpipe-webhooks-test'),
      VOXPIPE_EVENT_BUS_NAME: 'voxpipe',
      VOXPIPE_WEBHOOK_QUEUE_URL: queue.url,
      VOXPIPE_WEBHOOK_URL: `${base}/hook`,
      VOXPIPE_WEBHOOK_SECRET_ID: SECRET_NAME,
      VOXPIPE_WEBHOOK_ATTEMPT_TIMEOUT_SECONDS: '2',
      // The receiver is on loopback: cloud mode would refuse it (that is tested below with 10.0.0.1).
      VOXPIPE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      VOXPIPE_WEBHOOK_ALLOW_HTTP: 'true',
    };
    saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);

    vi.resetModules();
    const { jobNotifier } = await import('../../functions/lib/aws.js');
    const { parseEnv } = await import('../../functions/lib/env.js');
    const { WebhookEnv } = await import('../../functions/lib/webhook-env.js');
    const { createWebhookHandler, webhookDepsFromEnv } = await import('../../functions/lib/webhook-aws.js');
    notifier = jobNotifier({ VOXPIPE_EVENT_BUS_NAME: 'voxpipe', VOXPIPE_WEBHOOK_QUEUE_URL: env.VOXPIPE_WEBHOOK_QUEUE_URL });
    const logger = new Logger();
    const deps = webhookDepsFromEnv(parseEnv(WebhookEnv), logger);
    const send: WebhookQueueSend = async (task, delaySeconds) => {
      requeues.push({ task, delaySeconds, at: now() });
      offsetMs += delaySeconds * 1000; // the delay passes at once
      await deps.send(task, 0);
    };
    const handler = createWebhookHandler({ ...deps, now, send }, logger);
    mapping = startEventSourceMapping({ client: sqs, queueUrl: queue.url, queueArn: queue.arn, handler, batchSize: 10, maxConcurrency: 2 });
  });

  afterAll(async () => {
    await mapping?.stop();
    for (const [k, v] of Object.entries(saved ?? {})) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
    s3?.destroy();
    sqs?.destroy();
    await Promise.all([json?.close(), proxy?.close(), sqsEmu?.close()]);
    await s3rver?.close();
  });

  const completed = (jobId: string): JobEvent => ({
    type: 'job.completed',
    jobId,
    source: `s3://${BUCKET}/inbox/${jobId}.mp3`,
    resultKeys: (['json', 'txt', 'srt', 'vtt'] as const).map((ext) => jobKeys(jobId).result(ext)),
  });
  const failed = (jobId: string): JobEvent => ({ type: 'job.failed', jobId, source: `s3://${BUCKET}/inbox/${jobId}.mp3`, reason: 'corrupt audio', resultKeys: [jobKeys(jobId).result('json')] });

  async function finishedJob(jobId: string, text: string): Promise<void> {
    await store.put(jobKeys(jobId).result('json'), JSON.stringify({ id: jobId, source: `s3://${BUCKET}/inbox/${jobId}.mp3`, status: 'completed', durationSeconds: 61.5, text, segments: [] }));
  }

  async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(received.map((r) => [r.path, r.status]))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `voxpipe webhooks replay <jobId> --bucket … --queue-url …` in a child process, against the emulators. */
  const replayCli = (jobId: string) =>
    voxpipe(['webhooks', 'replay', jobId, '--bucket', BUCKET, '--queue-url', process.env.VOXPIPE_WEBHOOK_QUEUE_URL!], {
      AWS_REGION: FAKE_AWS.region,
      AWS_ACCESS_KEY_ID: FAKE_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_AWS.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_SQS: sqsEmu.endpoint,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      VOXPIPE_S3_ENDPOINT: proxy.endpoint,
    });

  /** At rest: the webhook queue is empty (nothing visible, in flight or delayed) and the poller idle. */
  const settle = () => waitUntilDrained(sqs, [webhookQueueUrl], [mapping]);

  it('delivers once per event id to a receiver that is down for the first 3 attempts: same id, valid signature, delays per policy', async () => {
    // GIVEN a finished job, the stack default receiver, down for 3 attempts
    const jobId = 'job-down-then-up';
    await finishedJob(jobId, 'Hello from the board meeting. '.repeat(20));
    downFor.set('/hook', 3);
    const event = completed(jobId);
    const id = webhookIdOf(event);

    // WHEN the aggregator's notifier raises job.completed, twice (at-least-once producers)
    await notifier.notify(event);
    await notifier.notify(event);
    await until('the delivery', () => received.some((r) => r.id === id && r.status === 204));
    await settle();

    // THEN the receiver saw 3 failed attempts and exactly one verified delivery, all with the same webhook-id
    const mine = received.filter((r) => r.id === id);
    expect(mine.map((r) => r.status)).toEqual([503, 503, 503, 204]);
    const delivered = mine.filter((r) => r.status === 204);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.payload).toMatchObject({ type: 'job.completed', data: { jobId, status: 'completed', durationSeconds: 61.5 } });
    expect(delivered[0]!.payload!.data.snippet).toMatch(/^Hello from the board meeting\./);
    // presigned S3 GET links, one per result file
    const links = delivered[0]!.payload!.data.links!;
    expect(Object.keys(links).sort()).toEqual(['json', 'srt', 'txt', 'vtt']);
    expect(links.json).toContain(`/${BUCKET}/results/${jobId}/transcript.json?`);
    expect(links.json).toContain('X-Amz-Signature=');
    // the retries were scheduled with the policy's first waits: 5 s, 30 s, 2 min
    const retries = requeues.filter((r) => webhookIdOf(r.task.event) === id);
    expect(retries.map((r) => [r.task.attempt, r.delaySeconds, r.task.notBefore])).toEqual([
      [2, 5, undefined],
      [3, 30, undefined],
      [4, 120, undefined],
    ]);
    expect(await store.exists(`jobs/${jobId}/webhooks/${id}/delivered.json`)).toBe(true);
    // and EventBridge got the event too
    expect(json.events.filter((e) => e.detail.jobId === jobId).map((e) => e.detailType)).toEqual(['voxpipe.job.completed', 'voxpipe.job.completed']);
  });

  it("carries the enricher's outcome through the queue to the receiver as data.enrichment", async () => {
    // GIVEN an enriched job's final event, as the enricher raises it (German failed, French and summary ok)
    const jobId = 'job-enriched';
    await finishedJob(jobId, 'Enriched transcript.');
    const enrichment = {
      status: 'partial' as const,
      parts: { 'translation:fr': { status: 'ok' as const }, 'translation:de': { status: 'failed' as const, reason: 'malformed reply' }, summary: { status: 'ok' as const } },
    };
    const event: JobEvent = { type: 'job.completed', jobId, source: `s3://${BUCKET}/inbox/${jobId}.mp3`, resultKeys: [jobKeys(jobId).result('json')], enrichment };
    const id = webhookIdOf(event);

    // WHEN it goes through the production notifier → SQS → webhook Lambda
    await notifier.notify(event);
    await until('the delivery', () => received.some((r) => r.id === id && r.status === 204));

    // THEN the signed payload states how each enrichment ended (the queue message schema keeps the field)
    const delivered = received.find((r) => r.id === id && r.status === 204);
    expect(delivered?.payload?.data.enrichment).toEqual(enrichment);
  });

  it('delivers the failure of a retried job (attempt 2) under its own id; a redelivery of that attempt is dropped', async () => {
    // GIVEN a job whose first failure was delivered
    const jobId = 'job-failed-twice';
    await finishedJob(jobId, '');
    const first = failed(jobId);
    await notifier.notify(first);
    await until('the first failure', () => received.some((r) => r.id === webhookIdOf(first) && r.status === 204));

    // WHEN it was retried and failed again: endJob stamps the attempt on the event (shared/stages/attempt.ts),
    // and a crash redelivery raises that same event twice
    const again: JobEvent = { type: 'job.failed', jobId, source: `s3://${BUCKET}/inbox/${jobId}.mp3`, reason: 'corrupt audio', resultKeys: [jobKeys(jobId).result('json')], attempt: 2 };
    await notifier.notify(again);
    await notifier.notify(again);
    await until('the second failure', () => received.some((r) => r.id === webhookIdOf(again) && r.status === 204));
    await settle();

    // THEN the receiver got both failures, each once, with ids of their own (the queue message keeps `attempt`)
    expect(webhookIdOf(again)).not.toBe(webhookIdOf(first));
    const mine = received.filter((r) => r.payload?.data.jobId === jobId && r.status === 204);
    expect(mine.map((r) => r.id)).toEqual([webhookIdOf(first), webhookIdOf(again)]);
    expect(json.events.filter((e) => e.detail.jobId === jobId).map((e) => e.detail.eventId)).toEqual([webhookIdOf(first), webhookIdOf(again), webhookIdOf(again)]);
  });

  it('stops at 410 Gone for a job whose webhook.json names another receiver (no retry, no dead letter)', async () => {
    const jobId = 'job-gone';
    await store.put(webhookTargetKey(jobId), JSON.stringify({ url: `${base}/gone` }));
    const event = failed(jobId);
    await notifier.notify(event);
    await until('the 410', () => received.some((r) => r.path === '/gone'));
    await settle();
    const id = webhookIdOf(event);
    expect(received.filter((r) => r.id === id).map((r) => [r.path, r.status])).toEqual([['/gone', 410]]);
    expect(requeues.filter((r) => webhookIdOf(r.task.event) === id)).toEqual([]);
    expect(await store.exists(deadLetterKey(jobId, id))).toBe(false);
  });

  it('signs with the per-job secret a webhook.json names', async () => {
    const jobId = 'job-tenant';
    await finishedJob(jobId, 'Tenant transcript.');
    await store.put(webhookTargetKey(jobId), JSON.stringify({ url: `${base}/tenant`, secretName: TENANT_SECRET_NAME }));
    const event = completed(jobId);
    await notifier.notify(event);
    await until('the tenant delivery', () => received.some((r) => r.path === '/tenant'));
    expect(received.filter((r) => r.path === '/tenant').map((r) => [r.status, r.payload?.data.jobId])).toEqual([[204, jobId]]);
  });

  it('refuses a private address in cloud mode and dead-letters the event without sending', async () => {
    const jobId = 'job-ssrf';
    await store.put(webhookTargetKey(jobId), JSON.stringify({ url: 'https://10.0.0.7/hook' }));
    const event = failed(jobId);
    await notifier.notify(event);
    const key = deadLetterKey(jobId, webhookIdOf(event));
    await until('the dead letter', () => store.exists(key));
    const record = JSON.parse(new TextDecoder().decode(await store.get(key))) as DeadLetterRecord;
    expect(record).toMatchObject({ result: 'refused', url: 'https://10.0.0.7/hook', attempts: [] });
    expect(record.reason).toMatch(/private, loopback or link-local/);
  });

  it('retries a receiver that stays down over the whole schedule (waits over 15 min hop with notBefore), then writes the dead letter', async () => {
    // GIVEN a receiver that always answers 503
    const jobId = 'job-down-forever';
    await store.put(webhookTargetKey(jobId), JSON.stringify({ url: `${base}/down` }));
    const event = failed(jobId);
    const id = webhookIdOf(event);

    // WHEN the event is raised
    await notifier.notify(event);
    const key = deadLetterKey(jobId, id);
    // 12 attempts and hundreds of queue hops: a deadline for a stuck run, generous for a loaded machine.
    await until('the dead letter', () => store.exists(key), 240_000);
    await settle();

    // THEN all 12 attempts went out with one webhook-id, each signed afresh
    expect(received.filter((r) => r.id === id).map((r) => r.status)).toEqual(Array(12).fill(503));
    const mine = requeues.filter((r) => webhookIdOf(r.task.event) === id);
    // each retry was scheduled with min(wait, 900 s) and, past 15 min, a notBefore exactly `wait` after the attempt
    const retries = mine.filter((r, i) => i === 0 || r.task.attempt !== mine[i - 1]!.task.attempt);
    expect(retries.map((r) => r.task.attempt)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    retries.forEach((r, i) => {
      const waitMs = WEBHOOK_RETRY_SCHEDULE_MS[i]!;
      expect(r.delaySeconds, `retry ${i + 2}`).toBe(Math.min(900, waitMs / 1000));
      if (waitMs <= 900_000) expect(r.task.notBefore).toBeUndefined();
      else {
        const lastAttemptAt = r.task.attempts.at(-1)!.at;
        expect(r.task.notBefore! - lastAttemptAt).toBeGreaterThan(waitMs - 2000);
        expect(r.task.notBefore! - lastAttemptAt).toBeLessThanOrEqual(waitMs);
      }
    });
    // the hops in between were never longer than SQS allows and never attempted early
    const hops = mine.filter((r) => !retries.includes(r));
    expect(hops.length).toBeGreaterThan(0);
    for (const h of hops) {
      expect(h.delaySeconds).toBeGreaterThan(0);
      expect(h.delaySeconds).toBeLessThanOrEqual(900);
      expect(h.at).toBeLessThan(h.task.notBefore!);
    }
    // and the dead-letter record holds every attempt, spaced per the policy in (virtual) time
    const record = JSON.parse(new TextDecoder().decode(await store.get(key))) as DeadLetterRecord;
    expect(record).toMatchObject({ webhookId: id, type: 'job.failed', jobId, result: 'dead-lettered', url: `${base}/down` });
    expect(record.reason).toMatch(/gave up after 12 of 12 attempts: HTTP 503/);
    expect(record.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (let n = 1; n < 12; n++) {
      expect(record.attempts[n]!.at - record.attempts[n - 1]!.at, `wait after attempt ${n}`).toBeGreaterThanOrEqual(retryDelayMs(n)!);
    }
    expect(JSON.parse(record.body)).toMatchObject({ type: 'job.failed', data: { jobId, reason: 'corrupt audio' } });
  }, 300_000);

  it('replays the dead letter on AWS: `voxpipe webhooks replay --bucket --queue-url` requeues it, the job’s current target gets it', async () => {
    // GIVEN the dead-lettered job.failed of the previous test, and the job's receiver fixed
    const jobId = 'job-down-forever';
    const event = failed(jobId);
    const id = webhookIdOf(event);
    await store.put(webhookTargetKey(jobId), JSON.stringify({ url: `${base}/hook` }));

    // WHEN the operator replays it from the CLI
    const { code, stdout, stderr } = await replayCli(jobId);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`webhook job.failed ${id}: queued for delivery`);

    // THEN the webhook Lambda delivers it once, under the same id, verified, and removes the dead letter
    await until('the replayed delivery', () => received.some((r) => r.id === id && r.status === 204));
    await until('the dead letter to go', async () => !(await store.exists(deadLetterKey(jobId, id))));
    const ok = received.filter((r) => r.id === id && r.status === 204);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.payload).toMatchObject({ type: 'job.failed', data: { jobId, reason: 'corrupt audio' } });
  });

  it('re-raises a lost event on AWS from the job’s stored result when nothing was dead-lettered', async () => {
    // GIVEN a completed job whose event never reached the webhook queue
    const jobId = 'job-lost-event';
    await finishedJob(jobId, 'The event of this job was lost.');
    await store.put(jobKeys(jobId).result('txt'), 'The event of this job was lost.\n');
    // WHEN the operator replays it
    const { code, stderr } = await replayCli(jobId);
    expect(code, stderr).toBe(0);
    // THEN job.completed arrives under the id the original would have had
    const id = webhookIdOf(completed(jobId));
    await until('the re-raised delivery', () => received.some((r) => r.id === id && r.status === 204));
    const [ok] = received.filter((r) => r.id === id);
    expect(ok?.payload).toMatchObject({ type: 'job.completed', data: { jobId, snippet: 'The event of this job was lost.' } });
    expect(Object.keys(ok?.payload?.data.links ?? {}).sort()).toEqual(['json', 'txt']);
  });

  it('re-raises a retried job’s lost event under its attempt’s id, not the first failure’s', async () => {
    // GIVEN a job that failed, was retried through the API (attempt 2 in its request) and failed again, its event lost
    const jobId = 'job-lost-retried';
    await store.put(jobKeys(jobId).result('json'), JSON.stringify({ id: jobId, source: `s3://${BUCKET}/inbox/${jobId}.mp3`, status: 'failed', error: 'corrupt audio', durationSeconds: 0, text: '', segments: [] }));
    await store.put(`jobs/${jobId}/request.json`, JSON.stringify({ jobId, tenant: 'acme', options: {}, attempt: 2 }));
    // WHEN the operator replays it
    const { code, stderr } = await replayCli(jobId);
    expect(code, stderr).toBe(0);
    // THEN job.failed arrives under attempt 2's id (the first failure's id was delivered and would be dropped)
    const id = webhookIdOf({ ...failed(jobId), attempt: 2 } as JobEvent);
    expect(id).not.toBe(webhookIdOf(failed(jobId)));
    await until('the re-raised delivery', () => received.some((r) => r.id === id && r.status === 204));
  });

  it('abandons a hung attempt at its timeout without holding up other deliveries, and retries it after 5 s', async () => {
    // GIVEN a receiver that hangs on its first request, and another job with a healthy one
    const hung = failed('job-hang');
    const fast = failed('job-fast');
    await store.put(webhookTargetKey('job-hang'), JSON.stringify({ url: `${base}/hang` }));
    // WHEN both events are raised together
    await Promise.all([notifier.notify(hung), notifier.notify(fast)]);
    // THEN the healthy receiver has its event while the hung attempt is still waiting for its 2 s timeout
    await until('the fast delivery', () => received.some((r) => r.id === webhookIdOf(fast) && r.status === 204));
    expect(requeues.filter((r) => webhookIdOf(r.task.event) === webhookIdOf(hung))).toEqual([]);
    await until('the hung event’s delivery', () => received.some((r) => r.id === webhookIdOf(hung) && r.status === 204));
    expect(received.filter((r) => r.id === webhookIdOf(hung)).map((r) => r.status)).toEqual([0, 204]);
    const [retry] = requeues.filter((r) => webhookIdOf(r.task.event) === webhookIdOf(hung));
    expect(retry?.delaySeconds).toBe(5);
    expect(retry?.task.attempts[0]?.error).toMatch(/no response within 2000 ms/);
  });

  it('fails the record (→ webhook DLQ after its receives) when a job’s webhook.json is invalid', async () => {
    const jobId = 'job-bad-target';
    await store.put(webhookTargetKey(jobId), JSON.stringify({ url: `${base}/hook`, secret: 'whsec_plaintext' }));
    const before = mapping.stats.failedRecords;
    await notifier.notify(failed(jobId));
    await until('the failed record', () => mapping.stats.failedRecords > before);
    expect(received.some((r) => r.payload?.data.jobId === jobId)).toBe(false);
  });
});

async function queueWithDlq(sqs: SQSClient, name: string) {
  const arnOf = async (url: string) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const url = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: '30', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlqUrl), maxReceiveCount: 3 }) },
      }),
    )
  ).QueueUrl!;
  return { url, arn: await arnOf(url), dlq: dlqUrl };
}
