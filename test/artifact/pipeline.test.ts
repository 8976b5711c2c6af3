/**
 * The pipeline as `cdk deploy` ships it (see deployment.ts): the CLI-synthesized template and cloud assembly,
 * the bundled handlers under Node 22 with the layer's ffmpeg, S3/SQS emulators on the wire, and every AWS
 * call checked against the function's role from the template. The truth is the tone-language word list of each
 * upload. Every deployment must end clean: no call denied, no message re-delivered into a running invocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript, Word } from '../../shared/core/types.js';
import { emptyFile, randomBytesFile, toneSpeechFixture } from '../fixtures/audio.js';
import { PIPELINE_CONTEXT } from './artifact-context.js';
import { type ArtifactDeployment, type ArtifactOptions, deployArtifact } from './deployment.js';
import { type CloudAssembly, synthesizedAssembly, TEST_ENV } from './synth.js';

const names = (words: readonly Word[]) => words.map((w) => w.word);
const transcriptWords = (t: Transcript) => (t.words?.length ? t.words.map((w) => w.word) : t.text.split(/\s+/).filter(Boolean));
const DLQS = ['IngestSplitQueueDlq', 'TranscriberWorkQueueDlq', 'AggregatorAggregateQueueDlq'];

let assembly: CloudAssembly;
beforeAll(async () => {
  assembly = await synthesizedAssembly(PIPELINE_CONTEXT);
  if (assembly.seconds) console.log(`cdk synth (CLI, ${TEST_ENV.region}): ${assembly.seconds.toFixed(1)} s`);
}, 900_000); // a CLI synth with bundling: under a minute on an idle machine

/** A deployment per describe block, closed after it. */
function deployment(opts: ArtifactOptions = {}): () => ArtifactDeployment {
  let aws: ArtifactDeployment | undefined;
  beforeAll(async () => {
    aws = await deployArtifact(assembly, opts);
  });
  afterAll(() => aws?.close());
  return () => aws!;
}

async function transcript(aws: ArtifactDeployment, jobId: string): Promise<Transcript> {
  const text = await aws.get(jobKeys(jobId).result('json'));
  expect(text, `results of ${jobId}`).toBeDefined();
  return JSON.parse(text!) as Transcript;
}

async function expectClean(aws: ArtifactDeployment): Promise<void> {
  expect(aws.gateway.denied, 'AWS calls denied by the template’s IAM policies').toEqual([]);
  expect(aws.overlaps, 'messages redelivered into a running invocation (harness visibility too short)').toEqual([]);
}

async function dlqDepths(aws: ArtifactDeployment): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(DLQS.map(async (q) => [q, await aws.depth(q)] as const)));
}

const noDeadLetters = Object.fromEntries(DLQS.map((q) => [q, 0]));

describe('artifact: a 5-minute upload with 429 and 500 faults', () => {
  const aws = deployment({
    faults: { byCall: { 1: { kind: 'rate-limit', retryAfterSeconds: 1 }, 2: { kind: 'status', status: 500 }, 4: { kind: 'rate-limit', retryAfterSeconds: 1 }, 6: { kind: 'status', status: 503 } } },
  });

  it('ends with one completed result holding every word once', { timeout: 300_000 }, async () => {
    const { path, words } = await toneSpeechFixture({ seed: 91, durationSeconds: 300, format: 'mp3' });
    const up = await aws().upload('inbox/five minutes.mp3', path);
    const event = await aws().waitForTerminal(up.jobId, 150_000);
    await aws().settle();
    expect(event.detailType, aws().logs()).toBe('voxpipe.job.completed');
    expect(aws().terminalEvents(up.jobId)).toHaveLength(1);
    const t = await transcript(aws(), up.jobId);
    expect(t.status).toBe('completed');
    expect(transcriptWords(t)).toEqual(names(words));
    expect(aws().double.requests.filter((r) => r.fault).length).toBeGreaterThanOrEqual(3);
    expect(await dlqDepths(aws())).toEqual(noDeadLetters);
    // Listing is scoped by s3:prefix, so S3 answered the stages' reads of keys not written yet (status, claims,
    // chunk results) with 403, not 404: the job still ran, because the store tells a missing key from a denial.
    expect(aws().gateway.missingAsDenied.length, 'reads of missing keys answered 403').toBeGreaterThan(0);
    await expectClean(aws());
  });
});

describe('artifact: object keys and duplicate notifications', () => {
  const aws = deployment();

  it('runs one job for an object notified twice, with spaces, + and unicode in its key', { timeout: 180_000 }, async () => {
    // GIVEN the s3:TestEvent S3 sent when the notification was configured, and a key S3 form-encodes
    expect(aws().notifications[0]).toContain('s3:TestEvent');
    const key = 'inbox/Board meeting + Q&A – été 2026 (final).wav';
    const { path, words } = await toneSpeechFixture({ seed: 92, durationSeconds: 20, format: 'wav' });
    // WHEN it is uploaded and S3 delivers its notification twice, then once more after the job finished
    const up = await aws().upload(key, path);
    expect(aws().notifications.at(-1)).toContain('"key":"inbox/Board+meeting+%2B+Q%26A+%E2%80%93+%C3%A9t%C3%A9+2026+%28final%29.wav"');
    await aws().renotify(key);
    const event = await aws().waitForTerminal(up.jobId);
    await aws().renotify(key);
    await aws().settle();
    // THEN one job, one completion, every word once, and the test event left no trace
    expect(event.detailType, aws().logs()).toBe('voxpipe.job.completed');
    expect(aws().terminalEvents(up.jobId)).toHaveLength(1);
    const jobs = new Set((await aws().list('jobs/')).map((k) => k.split('/')[1]));
    expect([...jobs]).toEqual([up.jobId]);
    const t = await transcript(aws(), up.jobId);
    expect(t.source).toBe(`s3://${aws().bucket}/${key}`);
    expect(transcriptWords(t)).toEqual(names(words));
    expect(await dlqDepths(aws())).toEqual(noDeadLetters);
    await expectClean(aws());
  });
});

describe('artifact: bad input and a provider that rejects the audio', () => {
  // The provider rejects its first call (400: permanent).
  const aws = deployment({ faults: { byCall: { 1: { kind: 'status', status: 400, message: 'audio rejected' } } } });

  it('fails a corrupt upload and a 0-byte upload at the splitter, each with its reason', { timeout: 180_000 }, async () => {
    const corrupt = await aws().upload('inbox/not really audio.mp3', await randomBytesFile('artifact-corrupt.mp3'));
    const empty = await aws().upload('inbox/empty upload.mp3', await emptyFile('artifact-empty.mp3'));
    const [c, e] = await Promise.all([aws().waitForTerminal(corrupt.jobId), aws().waitForTerminal(empty.jobId)]);
    expect(c.detailType, aws().logs()).toBe('voxpipe.job.failed');
    expect(c.detail.reason).toMatch(/not really audio\.mp3: (not an audio file|cannot decode audio)/);
    expect(e.detailType).toBe('voxpipe.job.failed');
    expect(e.detail.reason).toMatch(/empty upload\.mp3: empty file \(0 bytes\)/);
    for (const id of [corrupt.jobId, empty.jobId]) {
      expect((await transcript(aws(), id)).status).toBe('failed');
      expect(aws().terminalEvents(id)).toHaveLength(1);
    }
  });

  it('fails the job when the provider answers 400, without dead-lettering anything', { timeout: 180_000 }, async () => {
    const { path } = await toneSpeechFixture({ seed: 93, durationSeconds: 20, format: 'mp3' });
    const up = await aws().upload('inbox/rejected.mp3', path);
    const event = await aws().waitForTerminal(up.jobId);
    await aws().settle();
    expect(event.detailType, aws().logs()).toBe('voxpipe.job.failed');
    expect(event.detail.reason).toMatch(/400|rejected/);
    expect((await transcript(aws(), up.jobId)).status).toBe('failed');
    expect(aws().terminalEvents(up.jobId)).toHaveLength(1);
    expect(await dlqDepths(aws())).toEqual(noDeadLetters);
    expect(aws().gateway.calls.filter((c) => c.principal.startsWith('FailuresDlqConsumer') && c.job === up.jobId), 'dead-letter handling of this job').toEqual([]);
    await expectClean(aws());
  });
});

describe('artifact: sustained rate limits', () => {
  // 429 (Retry-After: 1 s) for the first 14 calls: the template's 2 attempts per invocation and maxReceiveCount 5
  // give a chunk 10 calls before the DLQ, so only deferral through the queue (sqs:SendMessage) gets it through.
  const limited = { kind: 'rate-limit', retryAfterSeconds: 1 } as const;
  const aws = deployment({ faults: { byCall: Object.fromEntries(Array.from({ length: 14 }, (_, i) => [i + 1, limited])) } });

  it('defers the chunk through the queue without burning its receive count', { timeout: 240_000 }, async () => {
    const { path, words } = await toneSpeechFixture({ seed: 94, durationSeconds: 20, format: 'wav' });
    const up = await aws().upload('inbox/busy provider.wav', path);
    const event = await aws().waitForTerminal(up.jobId, 120_000);
    await aws().settle();
    expect(aws().gateway.denied, 'the transcriber may defer on its own queue (finding 2)').toEqual([]);
    expect(event.detailType, aws().logs()).toBe('voxpipe.job.completed');
    expect(aws().double.requests.filter((r) => r.fault === 'rate-limit')).toHaveLength(14);
    expect(transcriptWords(await transcript(aws(), up.jobId))).toEqual(names(words));
    expect(await dlqDepths(aws())).toEqual(noDeadLetters);
    expect(aws().fn('FailuresDlqConsumer').stats.invocations).toBe(0);
    await expectClean(aws());
  });
});

describe('artifact: an aggregator that cannot write', () => {
  const aws = deployment();

  it('dead-letters the hand-off and fails the job with a reason', { timeout: 240_000 }, async () => {
    // Every S3 write of the aggregator fails (503 SlowDown, after the SDK's own retries).
    aws().gateway.fault((c) => c.principal.startsWith('AggregatorFunction') && c.service === 's3' && /PutObject|DeleteObject/.test(c.operation));
    const { path } = await toneSpeechFixture({ seed: 95, durationSeconds: 20, format: 'wav' });
    const up = await aws().upload('inbox/unwritable.wav', path);
    const event = await aws().waitForTerminal(up.jobId, 120_000);
    aws().gateway.fault(undefined);
    await aws().settle();
    expect(aws().gateway.faulted.length).toBeGreaterThan(0);
    expect(event.detailType, aws().logs()).toBe('voxpipe.job.failed');
    expect(event.detail.reason).toMatch(/repeated delivery failures|aggregat/i);
    expect(aws().fn('FailuresDlqConsumer').stats.invocations).toBeGreaterThan(0);
    expect(aws().terminalEvents(up.jobId)).toHaveLength(1);
    expect((await transcript(aws(), up.jobId)).status).toBe('failed');
    await expectClean(aws());
  });
});
