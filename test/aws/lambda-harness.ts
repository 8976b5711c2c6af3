/**
 * Runs the real Lambda handlers (functions/*.ts) in-process against emulated AWS over real HTTP:
 * - S3: s3rver behind the conditional-write double (the fan-in claim needs `If-None-Match`);
 * - SQS: local-aws-sqs with the stack's queue topology (split, work, aggregate, enrich; each with a DLQ and a
 *   redrive policy), consumed by `startEventSourceMapping` pollers like Lambda's event source mappings;
 * - EventBridge + Secrets Manager: a JSON-protocol double;
 * - the model: a provider double speaking Mistral's protocol, decoding the tone-language audio;
 * - chat (the enricher): whatever `VOXPIPE_CHAT_BASE_URL` in `env` points at (a chat double), same key secret.
 * An upload is a PutObject plus the S3 notification S3 would put on the split queue (key URL-encoded).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { vi } from 'vitest';
import { readFile } from 'node:fs/promises';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import type { BlobStore } from '../../shared/ports.js';
import { type FaultPlan, type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { uploadJobId } from '../../functions/lib/s3-event.js';
import { type RecordedEvent, startAwsJsonDouble } from './aws-json-double.js';
import { startConditionalS3Proxy } from './conditional-s3-proxy.js';
import { FAKE_AWS, startS3Emulator, startSqsEmulator, emulatedAwsEnv } from './emulators.js';
import { type EventSourceMapping, startEventSourceMapping, waitUntilDrained } from './event-source-mapping.js';

const BUCKET = 'voxpipe-ingest';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:voxpipe-key-AbCdEf';
const API_KEY = 'test-key';

type SqsHandler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;

export interface DeploymentOptions {
  readonly faults?: FaultPlan;
  /** @default 30 */
  readonly chunkSeconds?: number;
  /** Receives of a chunk message before it moves to the work DLQ. @default 3 */
  readonly workMaxReceives?: number;
  /**
   * Seconds a received message stays hidden. Long, as on AWS (6× the function timeout): failed chunks come
   * back through the transcriber's own backoff (ChangeMessageVisibility), not through this. @default 30
   */
  readonly visibilitySeconds?: number;
  /** Transcriber pollers (ESM maxConcurrency). @default 4 */
  readonly concurrency?: number;
  /** Chunk messages per transcriber invocation. @default 2 */
  readonly batchSize?: number;
  /** Extra handler environment. */
  readonly env?: Record<string, string>;
}

export interface Deployment {
  readonly store: BlobStore;
  readonly double: ProviderDouble;
  readonly events: readonly RecordedEvent[];
  readonly mappings: Readonly<Record<'split' | 'work' | 'aggregate' | 'enrich' | 'dlq', EventSourceMapping>>;
  /** PutObject + its S3 notification; returns the job id the splitter will use and the notification body. */
  upload(key: string, file: string, opts?: { metadata?: Record<string, string> }): Promise<{ jobId: string; notification: string }>;
  /** Deliver a notification again (S3 notifications are at-least-once). */
  notify(notification: string): Promise<void>;
  /** Resolves with the job's first terminal event (`voxpipe.job.completed` / `voxpipe.job.failed`). */
  waitForJob(jobId: string, timeoutMs?: number): Promise<RecordedEvent>;
  /** Terminal events of a job so far. */
  terminalEvents(jobId: string): RecordedEvent[];
  /** Wait until every consumed queue is empty (visible, in flight, delayed) and every poller idle: the system is at rest. */
  settle(): Promise<void>;
  /** Run the scheduled sweeper once. */
  sweep(): Promise<{ failed: string[] }>;
  close(): Promise<void>;
}

/** Start emulators, queues, doubles and the handlers with their event source mappings. */
export async function startDeployment(opts: DeploymentOptions = {}): Promise<Deployment> {
  const scratch = mkdtempSync(join(tmpdir(), 'voxpipe-lambda-'));
  const s3rver = await startS3Emulator([]);
  const proxy = await startConditionalS3Proxy(s3rver.endpoint);
  const sqsEmu = await startSqsEmulator();
  const json = await startAwsJsonDouble();
  json.secrets.set(SECRET_ARN, API_KEY);
  const double = await startProviderDouble({ vendor: 'mistral', recognize: recognizeTones, faults: opts.faults, apiKey: API_KEY });

  const s3 = new S3Client({ ...FAKE_AWS, endpoint: proxy.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const store = createS3Store({ client: s3, bucket: BUCKET });
  const sqs = sqsEmu.client();
  const visibility = opts.visibilitySeconds ?? 30;
  const split = await queueWithDlq(sqs, 'split', visibility, 3);
  const work = await queueWithDlq(sqs, 'work', visibility, opts.workMaxReceives ?? 3);
  const aggregate = await queueWithDlq(sqs, 'aggregate', visibility, 3);
  const enrich = await queueWithDlq(sqs, 'enrich', visibility, 3);

  const env: Record<string, string> = {
    ...emulatedAwsEnv({ sqs: sqsEmu.endpoint, json: json.endpoint, bucket: BUCKET, s3: proxy.endpoint }, 'voxpipe-harness'),
    VOXPIPE_WORK_QUEUE_URL: work.url,
    VOXPIPE_SPLIT_QUEUE_URL: split.url,
    VOXPIPE_AGGREGATE_QUEUE_URL: aggregate.url,
    VOXPIPE_EVENT_BUS_NAME: 'voxpipe',
    VOXPIPE_PROVIDER: 'mistral',
    VOXPIPE_MODEL: 'voxtral-mini-latest',
    VOXPIPE_BASE_URL: double.url,
    VOXPIPE_API_KEY_SECRET_ARN: SECRET_ARN,
    VOXPIPE_CHUNK_SECONDS: String(opts.chunkSeconds ?? 30),
    VOXPIPE_MAX_ATTEMPTS: '1',
    VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: '3',
    VOXPIPE_MAX_INLINE_WAIT_SECONDS: '0',
    VOXPIPE_RETRY_BASE_SECONDS: '1',
    VOXPIPE_TMP_DIR: scratch,
    VOXPIPE_JOB_DEADLINE_MINUTES: '60',
    VOXPIPE_ENRICH_QUEUE_URL: enrich.url,
    VOXPIPE_ENRICH_MAX_RECEIVES: '3',
    VOXPIPE_CHAT_PROVIDER: 'mistral',
    VOXPIPE_CHAT_API_KEY_SECRET_ARN: SECRET_ARN,
    ...opts.env,
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);

  // Fresh module instances: each deployment is a new set of cold-started containers with this environment.
  vi.resetModules();
  const splitter = (await import('../../functions/splitter.js')).handler as SqsHandler;
  const transcriber = (await import('../../functions/transcriber.js')).handler as SqsHandler;
  const aggregator = (await import('../../functions/aggregator.js')).handler as SqsHandler;
  const dlqConsumer = (await import('../../functions/dlq-consumer.js')).handler as SqsHandler;
  const sweeper = (await import('../../functions/sweeper.js')).handler;
  const enricher = (await import('../../functions/enricher.js')).handler as SqsHandler;

  const esm = (q: { url: string; arn: string }, handler: SqsHandler, batchSize: number, maxConcurrency: number) =>
    startEventSourceMapping({ client: sqs, queueUrl: q.url, queueArn: q.arn, handler, batchSize, maxConcurrency });
  const dlqMappings = [split.dlq, work.dlq, aggregate.dlq].map((q) => esm(q, dlqConsumer, 10, 1));
  const mappings = {
    split: esm(split, splitter, 1, 2),
    work: esm(work, transcriber, opts.batchSize ?? 2, opts.concurrency ?? 4),
    aggregate: esm(aggregate, aggregator, 1, 2),
    enrich: esm(enrich, enricher, 1, 2),
    dlq: {
      stats: dlqMappings[1]!.stats,
      get idle() {
        return dlqMappings.every((m) => m.idle);
      },
      stop: async () => void (await Promise.all(dlqMappings.map((m) => m.stop()))),
    },
  };
  const all = [mappings.split, mappings.work, mappings.aggregate, mappings.enrich, ...dlqMappings];

  const terminalEvents = (jobId: string) =>
    json.events.filter((e) => e.detail.jobId === jobId && (e.detailType === 'voxpipe.job.completed' || e.detailType === 'voxpipe.job.failed'));

  return {
    store,
    double,
    events: json.events,
    mappings,
    async upload(key, file, uploadOpts = {}) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(file), Metadata: uploadOpts.metadata }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      const eTag = (head.ETag ?? '').replace(/"/g, '');
      const notification = s3Notification(BUCKET, key, eTag, head.ContentLength ?? 0);
      await sqs.send(new SendMessageCommand({ QueueUrl: split.url, MessageBody: notification }));
      return { jobId: uploadJobId({ bucket: BUCKET, key, version: eTag }), notification };
    },
    async notify(notification) {
      await sqs.send(new SendMessageCommand({ QueueUrl: split.url, MessageBody: notification }));
    },
    async waitForJob(jobId, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [event] = terminalEvents(jobId);
        if (event) return event;
        if (Date.now() > deadline) throw new Error(`job ${jobId}: no terminal event within ${timeoutMs} ms; events: ${JSON.stringify(json.events.map((e) => e.detailType))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    terminalEvents,
    settle: () => waitUntilDrained(sqs, [split.url, work.url, aggregate.url, enrich.url, split.dlq.url, work.dlq.url, aggregate.dlq.url], all),
    sweep: () => sweeper(),
    async close() {
      await Promise.all(all.map((m) => m.stop()));
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      s3.destroy();
      sqs.destroy();
      await Promise.all([double.close(), json.close(), proxy.close(), sqsEmu.close()]);
      await s3rver.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

async function queueWithDlq(sqs: SQSClient, name: string, visibilitySeconds: number, maxReceiveCount: number) {
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq`, Attributes: { VisibilityTimeout: String(visibilitySeconds) } }))).QueueUrl!;
  const dlqArn = await arnOf(dlqUrl);
  const url = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(visibilitySeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
        },
      }),
    )
  ).QueueUrl!;
  return { url, arn: await arnOf(url), dlq: { url: dlqUrl, arn: dlqArn } };
}

/** The body S3 puts on an SQS queue for one ObjectCreated:Put, with the key URL-encoded as S3 does (`+` for spaces). */
export function s3Notification(bucket: string, key: string, eTag: string, size: number): string {
  const encodedKey = key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%20/g, '+'))
    .join('/');
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'voxpipe-inbox',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodedKey, size, eTag, sequencer: Date.now().toString(16) },
        },
      },
    ],
  });
}
