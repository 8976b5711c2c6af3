/**
 * Backfill from `s3://bucket/prefix` against the S3 emulator (s3rver over HTTP): ListObjectsV2 paging past
 * 1000 keys, the size-based dry run, submission by CopyObject into the ingest bucket's `inbox/` drip-fed to
 * `maxInFlight`, and a resumed submission that adopts an earlier copy instead of copying again.
 * A small stand-in for the deployed pipeline watches the inbox and writes each job's status and result
 * (the splitter's job id: bucket + key + ETag, as the real one derives it).
 * Keys have spaces and non-ASCII letters but no `+`: s3rver decodes `x-amz-copy-source` with `decodeURI`, which
 * leaves `%2B` encoded (S3 itself decodes it), so a `+` key cannot be copied on the emulator.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { uploadJobId } from '../../functions/lib/s3-event.js';
import { openJournalFile } from '../../shared/adapters/backfill-journal-file.js';
import { createS3CopyRunner } from '../../shared/adapters/backfill-s3-runner.js';
import { createS3Source } from '../../shared/adapters/backfill-s3-source.js';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { estimateRun, runBackfill } from '../../shared/backfill/run.js';
import { jobKeys } from '../../shared/core/keys.js';
import { type S3Emulator, startS3Emulator } from './emulators.js';

const MP3_SECOND = 16_000; // bytes of one second at the assumed 128 kbit/s

describe('backfill from S3 (s3rver)', () => {
  let s3: S3Emulator;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3Emulator(['archive', 'ingest']);
    client = s3.client();
    const limit = pLimit(16);
    const put = (key: string, bytes: number) => limit(() => client.send(new PutObjectCommand({ Bucket: 'archive', Key: key, Body: new Uint8Array(bytes).fill(key.length) })));
    await Promise.all([
      ...Array.from({ length: 1003 }, (_, i) => put(`big/calls/${String(i).padStart(4, '0')}.mp3`, MP3_SECOND * (1 + (i % 3)))),
      put('big/calls/readme.txt', 100),
      put('big/calls/0001.mp3.voxpipe.json', 100),
      ...Array.from({ length: 12 }, (_, i) => put(`small/2019/q${i % 4}/talk ${i} ü.m4a`, MP3_SECOND * 2)),
      put('small/2019/cover.png', 100),
    ]);
  }, 120_000);
  afterAll(() => s3?.close());

  it('lists every media object past the 1000-key page and estimates hours and cost from sizes', async () => {
    const source = createS3Source(client, 'archive', 'big/calls/');
    const e = await estimateRun(source, { usdPerMinute: 0.001, parallelCalls: 10, maxInFlight: 10, chunkSeconds: 120 });
    // 1003 mp3 of 1, 2 or 3 s at 128 kbit/s; the .txt and the sidecar are not media
    const seconds = Array.from({ length: 1003 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b, 0);
    expect(e.files).toBe(1003);
    expect(e.secondsFrom).toEqual({ probe: 0, size: 1003, unknown: 0 });
    expect(e.audioSeconds).toBeCloseTo(seconds, 6);
    expect(e.costUsd).toBeCloseTo((seconds / 60) * 0.001, 9);
  });

  it('copies each object into inbox/ once, never more than maxInFlight unfinished, and reads cost from the results', async () => {
    // GIVEN the stand-in pipeline and a spy on S3 calls
    const pipeline = fakePipeline(client, 60);
    const send = vi.spyOn(client, 'send');
    const journal = await openJournalFile(join(await mkdtemp(join(tmpdir(), 'vox-bf-')), 'state.jsonl'));

    // WHEN the prefix is backfilled with at most 3 in flight
    const report = await runBackfill(
      { source: createS3Source(client, 'archive', 'small/'), runner: runnerFor(client), journal },
      { maxInFlight: 3, usdPerMinute: 0.001 },
    );
    await journal.close();
    await pipeline.stop();

    // THEN 12 jobs completed, each copied once under its relative key, with the pipeline's reported cost
    const copies = send.mock.calls.map(([cmd]) => cmd).filter((cmd) => cmd instanceof CopyObjectCommand);
    send.mockRestore();
    expect(report.rows.filter((r) => r.status !== 'completed')).toEqual([]);
    expect(report.completed).toBe(12);
    expect(copies).toHaveLength(12);
    expect(new Set(copies.map((c) => (c as CopyObjectCommand).input.Key)).size).toBe(12);
    expect(pipeline.seen().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `inbox/2019/q${i % 4}/talk ${i} ü.m4a`).sort());
    expect(pipeline.maxOutstanding()).toBeLessThanOrEqual(3);
    expect(pipeline.maxOutstanding()).toBeGreaterThanOrEqual(2);
    expect(report.spentUsd).toBeCloseTo(12 * 0.01, 9);
    for (const row of report.rows) expect(row).toMatchObject({ status: 'completed', durationSeconds: 2, costUsd: 0.01 });
  }, 60_000);

  it('a resumed in-flight file whose copy had landed is adopted, not copied again', async () => {
    // GIVEN a journal that says "submitted" for one file, and its copy already in the inbox (killed before the answer)
    const dir = await mkdtemp(join(tmpdir(), 'vox-bf-'));
    const first = await openJournalFile(join(dir, 'state.jsonl'));
    await first.append({ t: 'header', source: 's3://archive/small/2019/q1/', at: new Date().toISOString() });
    await first.append({ t: 'submitted', file: 'talk 1 ü.m4a', at: new Date().toISOString(), estimatedSeconds: 2, estimatedCostUsd: 0.0001 });
    await first.close();
    await client.send(new CopyObjectCommand({ Bucket: 'ingest', Key: 'inbox/resume/talk 1 ü.m4a', CopySource: `archive/${encodeURIComponent('small/2019/q1/talk 1 ü.m4a').replace(/%2F/g, '/')}` }));
    const pipeline = fakePipeline(client, 20);
    const send = vi.spyOn(client, 'send');

    // WHEN the backfill is re-run
    const journal = await openJournalFile(join(dir, 'state.jsonl'));
    const report = await runBackfill(
      { source: createS3Source(client, 'archive', 'small/2019/q1/'), runner: runnerFor(client, 'inbox/resume/'), journal },
      { maxInFlight: 2, usdPerMinute: 0.001 },
    );
    await journal.close();
    await pipeline.stop();

    // THEN the landed copy was adopted and only the two other files were copied
    const copied = send.mock.calls.map(([cmd]) => cmd).filter((cmd) => cmd instanceof CopyObjectCommand).map((c) => (c as CopyObjectCommand).input.Key);
    send.mockRestore();
    expect(report.resumed).toBe(1);
    expect(report.submitted).toBe(2);
    expect(report.completed).toBe(3);
    expect(copied.sort()).toEqual(['inbox/resume/talk 5 ü.m4a', 'inbox/resume/talk 9 ü.m4a']);
  }, 60_000);

  it('with a drop-folder profile, copies into inbox/<profile>/ and follows each drop to its reason record, ignoring stale ones', async () => {
    // GIVEN a stand-in drop folder, and a reason record an earlier drop of the same path left in 2020
    const store = createS3Store({ client, bucket: 'ingest' });
    await store.put('processed/calls/talk 2 ü.m4a.reason.json', JSON.stringify({ status: 'completed', jobId: 'old', profile: 'calls', source: 'x', results: [], finishedAt: '2020-01-01T00:00:00.000Z' }));
    let stop = false;
    const moved: string[] = [];
    const drops = (async () => {
      while (!stop) {
        for await (const key of store.list('inbox/calls/')) {
          const path = key.slice('inbox/calls/'.length);
          const jobId = `drop-${moved.length}`;
          await store.put(jobKeys(jobId).result('json'), JSON.stringify({ id: jobId, status: 'completed', durationSeconds: 2, usage: { audioSeconds: 2, costUsd: 0.02 } }));
          await store.put(`processed/calls/${path}.reason.json`, JSON.stringify({ status: 'completed', jobId, profile: 'calls', source: key, results: [], finishedAt: new Date().toISOString() }));
          await store.delete(key);
          moved.push(path);
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const journal = await openJournalFile(join(await mkdtemp(join(tmpdir(), 'vox-bf-')), 'state.jsonl'));

    // WHEN the q2 folder is backfilled into the "calls" profile
    const report = await runBackfill(
      {
        source: createS3Source(client, 'archive', 'small/2019/q2/'),
        runner: createS3CopyRunner({ client, bucket: 'ingest', store, profile: 'calls', jobIdOf: uploadJobId, pollMs: 20 }),
        journal,
      },
      { maxInFlight: 2, usdPerMinute: 0.001 },
    );
    await journal.close();
    stop = true;
    await drops;

    // THEN each file was dropped once under the profile and finished with its own job's cost (not the stale record's)
    expect(moved.sort()).toEqual(['talk 10 ü.m4a', 'talk 2 ü.m4a', 'talk 6 ü.m4a']);
    expect(report.completed).toBe(3);
    for (const row of report.rows) expect(row).toMatchObject({ status: 'completed', costUsd: 0.02, durationSeconds: 2 });
    expect(report.rows.map((r) => r.jobId)).not.toContain('old');
  }, 60_000);
});

function runnerFor(client: S3Client, inboxPrefix = 'inbox/') {
  return createS3CopyRunner({
    client,
    bucket: 'ingest',
    store: createS3Store({ client, bucket: 'ingest' }),
    inboxPrefix,
    jobIdOf: uploadJobId,
    pollMs: 20,
  });
}

/**
 * Stands in for the deployed pipeline: every `tickMs` it lists `inbox/`, starts a "job" per new object
 * (job id as the splitter derives it) and completes the jobs started on the previous tick, writing
 * `status.json` and a result with a reported cost of $0.01.
 */
function fakePipeline(client: S3Client, tickMs: number) {
  const store = createS3Store({ client, bucket: 'ingest' });
  const seen = new Set<string>();
  let running: { key: string; jobId: string }[] = [];
  let maxOutstanding = 0;
  let stopped = false;
  const tick = async () => {
    for (const job of running) {
      const keys = jobKeys(job.jobId);
      await store.put(keys.result('json'), JSON.stringify({ id: job.jobId, status: 'completed', durationSeconds: 2, usage: { audioSeconds: 2, costUsd: 0.01 } }));
      await store.put(keys.status, JSON.stringify({ jobId: job.jobId, source: job.key, state: 'completed', updatedAt: new Date().toISOString() }));
    }
    running = [];
    for await (const key of store.list('inbox/')) {
      if (seen.has(key)) continue;
      seen.add(key);
      const head = await client.send(new HeadObjectCommand({ Bucket: 'ingest', Key: key }));
      running.push({ key, jobId: uploadJobId({ bucket: 'ingest', key, version: head.VersionId ?? (head.ETag ?? '').replace(/"/g, '') }) });
    }
    maxOutstanding = Math.max(maxOutstanding, running.length);
  };
  const loop = (async () => {
    while (!stopped) {
      await tick();
      await new Promise((r) => setTimeout(r, tickMs));
    }
  })();
  return {
    seen: () => [...seen],
    maxOutstanding: () => maxOutstanding,
    stop() {
      stopped = true;
      return loop;
    },
  };
}
