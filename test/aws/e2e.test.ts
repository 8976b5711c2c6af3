/**
 * The AWS pipeline end to end, in-process: the real Lambda handlers, driven by S3 notifications and
 * SQS event-source-mapping pollers over emulated S3/SQS (see lambda-harness.ts), against a provider
 * double with injected 429 / 500 / hangs. The truth is the generated tone-language word list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript, Word } from '../../shared/core/types.js';
import { randomBytesFile, toneSpeechFixture } from '../fixtures/audio.js';
import { type Deployment, startDeployment } from './lambda-harness.js';

const names = (words: readonly Word[]) => words.map((w) => w.word);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const transcriptWords = (t: Transcript) => (t.words?.length ? t.words.map((w) => w.word) : t.text.split(/\s+/).filter(Boolean));

describe('AWS pipeline: uploads with flaky provider (429 with Retry-After, 500, hang)', () => {
  let aws: Deployment;
  beforeAll(async () => {
    aws = await startDeployment({
      faults: {
        byCall: {
          1: { kind: 'rate-limit', retryAfterSeconds: 1 },
          2: { kind: 'status', status: 500 },
          3: { kind: 'hang' },
          5: { kind: 'rate-limit', retryAfterSeconds: 1 },
        },
      },
    });
  });
  afterAll(() => aws?.close());

  it('produces one result per upload, once per object even when S3 notifies twice, with every word once', async () => {
    // GIVEN two recordings, one with spaces and non-ASCII in its key (S3 URL-encodes it in the event)
    const a = await toneSpeechFixture({ seed: 21, durationSeconds: 75, format: 'mp3' });
    const b = await toneSpeechFixture({ seed: 22, durationSeconds: 50, format: 'wav' });

    // WHEN both are uploaded and the first one's notification arrives twice
    const upA = await aws.upload('inbox/Board meeting – été 2026.mp3', a.path);
    const upB = await aws.upload('inbox/b.wav', b.path);
    await aws.notify(upA.notification);
    await Promise.all([aws.waitForJob(upA.jobId), aws.waitForJob(upB.jobId)]);
    await aws.notify(upA.notification); // a late duplicate, after the job finished
    await aws.settle();

    // THEN each upload has exactly one job, one completion event and one transcript with every word once
    for (const [up, truth, name] of [[upA, a.words, 'Board meeting – été 2026'], [upB, b.words, 'b']] as const) {
      const events = aws.terminalEvents(up.jobId);
      expect(events.map((e) => e.detailType)).toEqual(['voxpipe.job.completed']);
      expect(events[0]!.source).toBe('voxpipe');
      const t = JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).result('json')))) as Transcript;
      expect(t.status).toBe('completed');
      expect(t.source).toContain(name);
      expect(transcriptWords(t)).toEqual(names(truth));
      for (const ext of ['txt', 'srt', 'vtt'] as const) expect(await aws.store.exists(jobKeys(up.jobId).result(ext))).toBe(true);
      const status = JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).status)));
      expect(status.state).toBe('completed');
    }
    const jobs = new Set<string>();
    for await (const key of aws.store.list('jobs/')) jobs.add(key.split('/')[1]!);
    expect([...jobs].sort()).toEqual([upA.jobId, upB.jobId].sort());
    // The faults were met and retried through the queue, and nothing was dead-lettered.
    expect(aws.double.requests.some((r) => r.fault === 'rate-limit')).toBe(true);
    expect(aws.double.requests.some((r) => r.fault === 'hang')).toBe(true);
    expect(aws.mappings.dlq.stats.invocations).toBe(0);
  });
});

describe('AWS pipeline: failures end the job with a reason', () => {
  let aws: Deployment;
  beforeAll(async () => {
    // The provider rejects the first chunk it sees (400: permanent).
    aws = await startDeployment({ faults: { byCall: { 1: { kind: 'status', status: 400, message: 'audio rejected' } } }, concurrency: 1, batchSize: 1 });
  });
  afterAll(() => aws?.close());

  it('fails the job when a chunk fails permanently, naming the chunk and the provider error', async () => {
    const { path } = await toneSpeechFixture({ seed: 23, durationSeconds: 70, format: 'mp3' });
    const up = await aws.upload('inbox/rejected.mp3', path);
    const event = await aws.waitForJob(up.jobId);
    await aws.settle();
    expect(event.detailType).toBe('voxpipe.job.failed');
    expect(event.detail.reason).toMatch(/chunk 0/);
    expect(event.detail.reason).toMatch(/400|rejected/);
    const t = JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).result('json')))) as Transcript;
    expect(t.status).toBe('failed');
    expect(t.error).toBe(event.detail.reason);
    expect(JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).status))).state).toBe('failed');
    expect(aws.terminalEvents(up.jobId)).toHaveLength(1);
  });

  it('fails a corrupt upload at the splitter, with a reason naming the file', async () => {
    const path = await randomBytesFile('corrupt-upload.mp3');
    const up = await aws.upload('inbox/not really audio.mp3', path);
    const event = await aws.waitForJob(up.jobId);
    expect(event.detailType).toBe('voxpipe.job.failed');
    expect(event.detail.reason).toContain('not really audio.mp3');
    const t = JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).result('json')))) as Transcript;
    expect(t.status).toBe('failed');
  });

  it('sweeps a job stuck past its deadline into failed', async () => {
    // GIVEN a job whose status has not moved for two hours (its hand-off was lost)
    const jobId = 'stuck0000000000000000';
    const updatedAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    await aws.store.put(jobKeys(jobId).status, JSON.stringify({ jobId, source: 's3://voxpipe-ingest/inbox/lost.mp3', state: 'transcribing', updatedAt }));
    await aws.store.put(jobKeys(jobId).running, '');
    // WHEN the sweeper runs
    const { failed } = await aws.sweep();
    // THEN only that job is failed, with a reason and an event
    expect(failed).toEqual([jobId]);
    const [event] = aws.terminalEvents(jobId);
    expect(event?.detailType).toBe('voxpipe.job.failed');
    expect(event?.detail.reason).toMatch(/stuck in state "transcribing"/);
    expect((await aws.sweep()).failed).toEqual([]);
    // AND the running index no longer lists it, nor any job that finished
    const running: string[] = [];
    for await (const key of aws.store.list('running/')) running.push(key);
    expect(running).toEqual([]);
  });
});

describe('AWS pipeline: dead-lettered chunks', () => {
  let aws: Deployment;
  beforeAll(async () => {
    // Every model call fails with 500: each chunk message is received 3 times, then dead-lettered.
    aws = await startDeployment({ faults: { random: { seed: 1, rate: 1, faults: [{ kind: 'status', status: 500 }] } }, workMaxReceives: 3 });
  });
  afterAll(() => aws?.close());

  it('ends the job as failed through the DLQ consumer, with a reason', async () => {
    const { path } = await toneSpeechFixture({ seed: 24, durationSeconds: 20, format: 'wav' });
    const up = await aws.upload('inbox/doomed.wav', path);
    const event = await aws.waitForJob(up.jobId, 60_000);
    await aws.settle();
    expect(event.detailType).toBe('voxpipe.job.failed');
    expect(event.detail.reason).toMatch(/repeated delivery failures/);
    expect(aws.mappings.dlq.stats.invocations).toBeGreaterThan(0);
    expect(aws.terminalEvents(up.jobId)).toHaveLength(1);
    // At most 3 receives per chunk, then the DLQ. (local-aws-sqs also counts the transcriber's
    // ChangeMessageVisibility backoff as a receive, so it may be fewer there; real SQS does not.)
    const manifest = JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).manifest)));
    expect(aws.double.calls).toBeGreaterThanOrEqual(manifest.pending.length);
    expect(aws.double.calls).toBeLessThanOrEqual(3 * manifest.pending.length);
  });
});

describe('AWS pipeline: rate limits', () => {
  let aws: Deployment;
  beforeAll(async () => {
    // The provider answers 429 (Retry-After: 1 s) four times in a row; the work queue dead-letters after 2 receives.
    const limited = { kind: 'rate-limit', retryAfterSeconds: 1 } as const;
    aws = await startDeployment({ faults: { byCall: { 1: limited, 2: limited, 3: limited, 4: limited } }, workMaxReceives: 2, concurrency: 1, batchSize: 1 });
  });
  afterAll(() => aws?.close());

  it('waits out 429s through the queue without spending the chunk’s receives', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 25, durationSeconds: 20, format: 'wav' });
    const up = await aws.upload('inbox/busy provider.wav', path);
    const event = await aws.waitForJob(up.jobId, 60_000);
    expect(event.detailType).toBe('voxpipe.job.completed');
    expect(aws.double.requests.filter((r) => r.fault === 'rate-limit')).toHaveLength(4);
    expect(aws.mappings.dlq.stats.invocations).toBe(0);
    const t = JSON.parse(decode(await aws.store.get(jobKeys(up.jobId).result('json')))) as Transcript;
    expect(transcriptWords(t)).toEqual(names(words));
  });
});
