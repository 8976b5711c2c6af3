/**
 * The AWS drop folder end to end, in-process: `inbox/<profile>/…` uploads on the S3 emulator, the real
 * splitter/transcriber/aggregator handlers with a profiles file in their environment (as the stack deploys it),
 * object-metadata overrides, odd keys (URL-encoded in the notification), duplicate drops and bad files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jobKeys } from '../../shared/core/keys.js';
import type { DropReason } from '../../shared/core/profile-paths.js';
import type { JobManifest, Transcript } from '../../shared/core/types.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { type Deployment, startDeployment } from './lambda-harness.js';

const PROFILES = {
  profiles: {
    meetings: { language: 'en', formats: ['json', 'txt'], retentionDays: 30 },
    radio: { chunkSeconds: 20, formats: ['json', 'srt'], webhook: { url: 'https://hooks.example.com/radio', secretRef: 'voxpipe/webhooks/radio' } },
    'small-model': { model: 'voxtral-small-latest' },
  },
};

const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const words = (t: Transcript) => (t.words?.length ? t.words.map((w) => w.word) : t.text.split(/\s+/).filter(Boolean));

describe('AWS drop folder: inbox/<profile>/… with profiles and metadata overrides', () => {
  let aws: Deployment;
  beforeAll(async () => {
    aws = await startDeployment({ env: { VOXPIPE_PROFILES: JSON.stringify(PROFILES) } });
  });
  afterAll(() => aws?.close());

  const json = async <T>(key: string) => JSON.parse(decode(await aws.store.get(key))) as T;
  /** The reason object of a drop once its source has left the inbox (the reason is written first, then the move). */
  const reasonOf = async (profileAndPath: string, timeoutMs = 60_000): Promise<{ outcome: string; reason: DropReason }> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const outcome of ['processed', 'failed']) {
        const key = `${outcome}/${profileAndPath}.reason.json`;
        if ((await aws.store.exists(key)) && !(await aws.store.exists(`inbox/${profileAndPath}`))) return { outcome, reason: await json<DropReason>(key) };
      }
      if (Date.now() > deadline) {
        const keys: string[] = [];
        for await (const k of aws.store.list('')) if (!k.startsWith('jobs/')) keys.push(k);
        throw new Error(`${profileAndPath}: no reason object within ${timeoutMs} ms; bucket: ${keys.join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('runs a drop with its profile, publishes results under results/<profile>/<same path>/ and moves the source', async () => {
    const { path, words: truth } = await toneSpeechFixture({ seed: 51, durationSeconds: 20, format: 'mp3' });
    const key = 'meetings/2026/Q1 board+call été/Réunion 1+1 ✓.mp3';
    const up = await aws.upload(`inbox/${key}`, path);

    const { outcome, reason } = await reasonOf(key);
    expect(outcome).toBe('processed');
    expect(reason).toMatchObject({ status: 'completed', profile: 'meetings', source: `inbox/${key}`, retentionDays: 30 });
    expect(reason.results).toEqual(['results/meetings/2026/Q1 board+call été/Réunion 1+1 ✓.json', 'results/meetings/2026/Q1 board+call été/Réunion 1+1 ✓.txt']);
    const t = await json<Transcript>(reason.results[0]!);
    expect(t.status).toBe('completed');
    expect(words(t)).toEqual(truth.map((w) => w.word));
    expect(await aws.store.exists(jobKeys(reason.jobId!).result('json'))).toBe(true); // results/<jobId>/ too
    expect(await aws.store.exists('results/meetings/2026/Q1 board+call été/Réunion 1+1 ✓.srt')).toBe(false);
    expect(await aws.store.exists(`inbox/${key}`)).toBe(false);
    expect(await aws.store.exists(`processed/${key}`)).toBe(true);
    expect((await json<JobManifest>(jobKeys(reason.jobId!).manifest)).options).toMatchObject({ language: 'en', chunkSeconds: 30 });

    // A late duplicate notification of the moved object does nothing.
    await aws.notify(up.notification);
    await aws.settle();
    expect(aws.terminalEvents(reason.jobId!)).toHaveLength(1);

    // The same content dropped again is a duplicate: moved to processed/ at once, no second job …
    await aws.upload('inbox/meetings/copy of it.mp3', path);
    const dup = await reasonOf('meetings/copy of it.mp3');
    expect(dup.outcome).toBe('processed');
    expect(dup.reason).toMatchObject({ status: 'duplicate', duplicateOf: `inbox/${key}`, jobId: reason.jobId, results: [] });
    await aws.settle();
    expect(aws.terminalEvents(reason.jobId!)).toHaveLength(1);

    // … unless forced through metadata.
    await aws.upload('inbox/meetings/forced.mp3', path, { metadata: { 'voxpipe-force': 'true' } });
    const forced = await reasonOf('meetings/forced.mp3');
    expect(forced.reason.status).toBe('completed');
    expect(forced.reason.jobId).not.toBe(reason.jobId);
  });

  it('applies x-amz-meta-voxpipe-* overrides over the profile', async () => {
    const { path, words: truth } = await toneSpeechFixture({ seed: 52, durationSeconds: 25, format: 'wav' });
    await aws.upload('inbox/radio/deep/a/b/c/news+weather.wav', path, { metadata: { 'voxpipe-language': 'fr', 'voxpipe-chunk-seconds': '15' } });
    const { outcome, reason } = await reasonOf('radio/deep/a/b/c/news+weather.wav');
    expect(outcome).toBe('processed');
    expect(reason.results).toEqual(['results/radio/deep/a/b/c/news+weather.json', 'results/radio/deep/a/b/c/news+weather.srt']);
    const manifest = await json<JobManifest>(jobKeys(reason.jobId!).manifest);
    expect(manifest.options).toMatchObject({ language: 'fr', chunkSeconds: 15, provider: 'mistral', model: 'voxtral-mini-latest' });
    // the profile's webhook is the job's receiver (read by the webhook Lambda)
    expect(await json(`jobs/${reason.jobId}/webhook.json`)).toEqual({ url: 'https://hooks.example.com/radio', secretName: 'voxpipe/webhooks/radio' });
    expect(words(await json<Transcript>(reason.results[0]!))).toEqual(truth.map((w) => w.word));
  });

  it('moves a corrupt file, a bad override, an unknown profile and an undeployed model to failed/ with a reason', async () => {
    const dir = await scratchDir('drop-aws');
    const corrupt = join(dir, 'corrupt.mp3');
    await writeFile(corrupt, Buffer.from(Array.from({ length: 32 * 1024 }, (_, i) => (i * 7919 + 13) % 251)));
    const { path: good } = await toneSpeechFixture({ seed: 53, durationSeconds: 10, format: 'wav' });

    await aws.upload('inbox/radio/broken file.mp3', corrupt);
    await aws.upload('inbox/radio/typo.wav', good, { metadata: { 'voxpipe-languag': 'fr' } });
    await aws.upload('inbox/radio/bad-chunks.wav', good, { metadata: { 'voxpipe-chunk-seconds': 'lots' } });
    await aws.upload('inbox/podcasts/ep1.wav', good);
    await aws.upload('inbox/small-model/x.wav', good);

    const broken = await reasonOf('radio/broken file.mp3');
    expect(broken.outcome).toBe('failed');
    expect(broken.reason.status).toBe('failed');
    expect(broken.reason.reason).toContain('broken file.mp3');
    expect(broken.reason.results).toEqual(['results/radio/broken file.json']);
    expect(await aws.store.exists('failed/radio/broken file.mp3')).toBe(true);
    expect(await aws.store.exists('inbox/radio/broken file.mp3')).toBe(false);
    expect(aws.terminalEvents(broken.reason.jobId!).map((e) => e.detailType)).toEqual(['voxpipe.job.failed']);

    const typo = await reasonOf('radio/typo.wav');
    expect(typo.outcome).toBe('failed');
    expect(typo.reason.reason).toMatch(/unknown metadata x-amz-meta-voxpipe-languag/);
    expect((await reasonOf('radio/bad-chunks.wav')).reason.reason).toMatch(/x-amz-meta-voxpipe-chunk-seconds/);
    expect((await reasonOf('podcasts/ep1.wav')).reason.reason).toMatch(/unknown profile "podcasts".*meetings, radio, small-model/);
    expect((await reasonOf('small-model/x.wav')).reason.reason).toMatch(/voxtral-small-latest.*-c model=voxtral-small-latest/);
    expect(await aws.store.exists('failed/podcasts/ep1.wav')).toBe(true);
  });

  it('moves the source of a drop job the sweeper fails to failed/ with the reason', async () => {
    // GIVEN a drop job whose status has not moved for two hours (its hand-off was lost)
    const jobId = 'dropstuck00000000000';
    const updatedAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    await aws.store.put('inbox/meetings/lost call.wav', 'audio');
    await aws.store.put(`${jobKeys(jobId).root}drop.json`, JSON.stringify({ drop: { profile: 'meetings', path: 'lost call.wav' }, formats: ['json'] }));
    await aws.store.put(jobKeys(jobId).status, JSON.stringify({ jobId, source: 's3://voxpipe-ingest/inbox/meetings/lost call.wav', state: 'transcribing', updatedAt }));
    await aws.store.put(jobKeys(jobId).running, '');
    // WHEN the sweeper runs
    expect((await aws.sweep()).failed).toContain(jobId);
    // THEN the source is in failed/ with the sweeper's reason
    const { outcome, reason } = await reasonOf('meetings/lost call.wav', 5_000);
    expect(outcome).toBe('failed');
    expect(reason.reason).toMatch(/stuck in state "transcribing"/);
    expect(await aws.store.exists('failed/meetings/lost call.wav')).toBe(true);
  });

  it('runs a duplicate of a drop whose job failed again: it waits while that job runs, never ends as its "duplicate"', async () => {
    // GIVEN a drop whose job is (made to look) still running
    const { path } = await toneSpeechFixture({ seed: 55, durationSeconds: 10, format: 'wav' });
    await aws.upload('inbox/meetings/first take.wav', path);
    const first = await reasonOf('meetings/first take.wav');
    const jobId = first.reason.jobId!;
    const status = await json<Record<string, unknown>>(jobKeys(jobId).status);
    await aws.store.put(jobKeys(jobId).status, JSON.stringify({ ...status, state: 'transcribing' }));

    // WHEN the same content is dropped under another name
    await aws.upload('inbox/meetings/second take.wav', path);
    // it waits (stays in the inbox, listed under the job it waits for) instead of becoming a duplicate at once
    const deadline = Date.now() + 60_000;
    const waiting = async () => {
      for await (const k of aws.store.list(`${jobKeys(jobId).root}waiting/`)) if (k) return true;
      return false;
    };
    while (!(await waiting())) {
      expect(await aws.store.exists('processed/meetings/second take.wav.reason.json'), 'admitted as a duplicate of a running job').toBe(false);
      expect(Date.now() < deadline, 'no wait recorded').toBe(true);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await aws.store.exists('inbox/meetings/second take.wav')).toBe(true);
    // and that job then FAILS
    await aws.store.put(jobKeys(jobId).status, JSON.stringify({ ...status, state: 'failed', reason: 'provider down' }));

    // THEN the waiting drop runs again as a job of its own and completes
    const second = await reasonOf('meetings/second take.wav', 120_000);
    expect(second.outcome).toBe('processed');
    expect(second.reason.status).toBe('completed');
    expect(second.reason.jobId).not.toBe(jobId);
  }, 180_000);

  it('transcribes a truncated upload with a warning in the result and the reason object', async () => {
    // GIVEN an mp3 whose header declares 24 s, cut to its first half (an upload of a file still being written)
    const { path } = await toneSpeechFixture({ seed: 56, durationSeconds: 24, format: 'mp3' });
    const cut = join(await scratchDir('drop-aws-cut'), 'cut.mp3');
    const bytes = await readFile(path);
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
    await aws.upload('inbox/meetings/cut off.mp3', cut);
    // THEN it completes, and both the result and the reason say it was truncated
    const { outcome, reason } = await reasonOf('meetings/cut off.mp3');
    expect(outcome).toBe('processed');
    expect(reason.status).toBe('completed');
    expect(reason.warnings?.[0]).toMatch(/^input truncated: the file declares 2[34]\.\d s of audio but only 1[12]\.\d s could be decoded/);
    const t = await json<Transcript>(jobKeys(reason.jobId!).result('json'));
    expect(t.warnings).toContain(reason.warnings![0]);
  });

  it('still runs plain inbox/<file> uploads as before', async () => {
    const { path } = await toneSpeechFixture({ seed: 54, durationSeconds: 10, format: 'wav' });
    const up = await aws.upload('inbox/plain.wav', path);
    const event = await aws.waitForJob(up.jobId);
    expect(event.detailType).toBe('voxpipe.job.completed');
    expect(await aws.store.exists('inbox/plain.wav')).toBe(true);
  });
});
