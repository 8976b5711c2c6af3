/**
 * Queue message contract: every producer's message, sent through the real producer code and its real SQS
 * serialisation (the SDK client is a recorder of the commands), parses with the schema its consumer uses
 * (shared/core/messages.ts), and the DLQ consumer recognises the messages of each queue it drains.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createSqsQueue } from '../../shared/adapters/sqs-queue.js';
import { jobKeys } from '../../shared/core/keys.js';
import { ChunkTaskMessage, EnrichMessage, JobReadyMessage, WebhookTask } from '../../shared/core/messages.js';
import type { ChunkTask, JobOptions } from '../../shared/core/types.js';
import type { BlobStore, JobEvent, Logger } from '../../shared/ports.js';
import { splitJob } from '../../shared/stages/split.js';
import { aggregateHandoff } from '../../functions/lib/aws.js';
import { classifyDeadLetter } from '../../functions/lib/dead-letter-record.js';
import { enrichHandoff } from '../../functions/lib/enricher-handoff.js';
import { createWebhookQueueNotifier, sqsWebhookQueue } from '../../functions/lib/webhook-queue.js';
import { toneSpeechFixture } from '../fixtures/audio.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const WORK = 'https://sqs.eu-west-1.amazonaws.com/123456789012/work';
const AGGREGATE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/aggregate';
const ENRICH = 'https://sqs.eu-west-1.amazonaws.com/123456789012/enrich';
const WEBHOOKS = 'https://sqs.eu-west-1.amazonaws.com/123456789012/webhooks';

/** An SQS client that records the message bodies each queue was sent, as the SDK would put them on the wire. */
function recordingSqs() {
  const bodies = new Map<string, string[]>();
  const add = (url: string | undefined, body: string | undefined) => bodies.set(url ?? '?', [...(bodies.get(url ?? '?') ?? []), body ?? '']);
  const client = {
    async send(command: unknown) {
      if (command instanceof SendMessageBatchCommand) {
        for (const e of command.input.Entries ?? []) add(command.input.QueueUrl, e.MessageBody);
        return { Successful: [], Failed: [] };
      }
      if (command instanceof SendMessageCommand) {
        add(command.input.QueueUrl, command.input.MessageBody);
        return {};
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  } as unknown as SQSClient;
  return { client, bodies: (url: string) => (bodies.get(url) ?? []).map((b) => JSON.parse(b) as unknown) };
}

let dir: string;
let store: BlobStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxpipe-messages-'));
  store = createFsStore(join(dir, 'bucket'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('queue message contract', () => {
  it('split stage → work queue: every chunk task parses as the transcriber reads it, and as a work dead letter', async () => {
    const sqs = recordingSqs();
    const { path } = await toneSpeechFixture({ seed: 41, durationSeconds: 40, format: 'wav' });
    const options: JobOptions = {
      provider: 'mistral', model: 'voxtral-mini-latest', language: 'en', chunkSeconds: 10, words: true, diarize: true,
      timestamps: 'provider', vocabulary: ['Voxtral', 'chunk plan'],
    };
    const manifest = await splitJob(
      { jobId: 'job-split', source: 'talk.wav', name: 'talk', localPath: path, options },
      {
        store,
        audio: createFfmpegAudioTools({}),
        queue: createSqsQueue<ChunkTask>({ client: sqs.client, queueUrl: WORK }),
        capabilities: { timestamps: true, words: true, maxUploadBytes: 25 * 1024 * 1024, maxAudioSeconds: 900, translate: false },
        workDir: dir,
        logger: quiet,
        notifier: { notify: async () => undefined },
        onJobReady: async () => undefined,
      },
    );
    const sent = sqs.bodies(WORK);
    expect(manifest?.pending.length).toBeGreaterThan(1);
    expect(sent).toHaveLength(manifest?.pending.length ?? -1);
    for (const body of sent) {
      const task = ChunkTaskMessage.parse(body);
      expect(task).toEqual(body); // nothing the producer sends is dropped by the consumer's schema
      expect(task).toMatchObject({ jobId: 'job-split', language: 'en', words: true, diarize: true, vocabulary: ['Voxtral', 'chunk plan'] });
      expect(task.speech?.length).toBeGreaterThan(0);
      expect(await store.exists(task.audioKey)).toBe(true);
      expect(classifyDeadLetter(body)).toEqual({ kind: 'chunk', task });
    }
  });

  it('fan-in → aggregate queue: the hand-off parses as the aggregator reads it, and as an aggregate dead letter', async () => {
    const sqs = recordingSqs();
    await aggregateHandoff(sqs.client, AGGREGATE)('job-ready');
    const [body] = sqs.bodies(AGGREGATE);
    expect(JobReadyMessage.parse(body)).toEqual({ jobId: 'job-ready' });
    expect(ChunkTaskMessage.safeParse(body).success).toBe(false);
    expect(classifyDeadLetter(body)).toEqual({ kind: 'aggregate', jobId: 'job-ready' });
  });

  it('aggregator → enrich queue: the hand-off of a job that asks for a summary parses as the enricher reads it', async () => {
    const sqs = recordingSqs();
    await store.put(jobKeys('job-enrich').manifest, JSON.stringify({ jobId: 'job-enrich', options: { summary: true } }));
    const handoff = enrichHandoff({ store, notifier: { notify: async () => undefined }, sqs: sqs.client, queueUrl: ENRICH, logger: quiet });
    const { notifier, handedOff } = await handoff.forJob('job-enrich');
    await notifier.notify({ type: 'job.completed', jobId: 'job-enrich', source: 'talk.mp3', resultKeys: [] });
    expect(handedOff()).toBe(true);
    const [body] = sqs.bodies(ENRICH);
    expect(EnrichMessage.parse(body)).toEqual({ jobId: 'job-enrich' });
  });

  it('any handler → webhook queue: each terminal event parses as the webhook Lambda reads it, enrichment and attempt included', async () => {
    const sqs = recordingSqs();
    const notifier = createWebhookQueueNotifier(sqsWebhookQueue(sqs.client, WEBHOOKS), () => new Date('2026-01-02T03:04:05.000Z'));
    const events: JobEvent[] = [
      {
        type: 'job.completed', jobId: 'j1', source: 's3://b/inbox/a.mp3', resultKeys: ['results/j1/transcript.json'],
        enrichment: { status: 'partial', parts: { summary: { status: 'ok' }, 'translation.fr': { status: 'failed', reason: 'rate limited' } } },
      },
      { type: 'job.failed', jobId: 'j2', source: 's3://b/inbox/b.mp3', reason: 'not audio', resultKeys: [] },
      { type: 'job.transcript.edited', jobId: 'j3', source: 's3://b/inbox/c.mp3', revision: 2, resultKeys: ['results/j3/transcript.json'] },
    ];
    for (const event of [...events, { type: 'job.progress', jobId: 'j1', chunksDone: 1, chunksTotal: 2 } as const]) await notifier.notify(event);
    const tasks = sqs.bodies(WEBHOOKS).map((b) => WebhookTask.parse(b));
    expect(tasks.map((t) => t.event)).toEqual(events);
    expect(tasks.every((t) => t.occurredAt === '2026-01-02T03:04:05.000Z' && t.attempt === 1)).toBe(true);
  });

  it('no handler keeps a message schema of its own', async () => {
    const root = join(import.meta.dirname, '..', '..', 'functions');
    const files = [...(await readdir(root)).map((f) => join(root, f)), ...(await readdir(join(root, 'lib'))).map((f) => join(root, 'lib', f))].filter((f) => f.endsWith('.ts'));
    const own: string[] = [];
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      if (/z\.object\(\{\s*jobId/.test(text)) own.push(file);
    }
    expect(own).toEqual([]);
  });
});
