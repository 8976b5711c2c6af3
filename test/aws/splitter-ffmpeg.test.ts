/**
 * The splitter handler with an ffmpeg it cannot use: it fails the invocation (the messages go back to the queue,
 * later to the DLQ) before touching any upload, and says so with the `FfmpegUnusable` metric the stack alarms on.
 * With the layer's own binaries (the 2018 build) it passes the same check.
 */
import { chmod, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FfmpegUnusableError } from '../../shared/adapters/ffmpeg-capabilities.js';
import { scratchDir } from '../fixtures/audio.js';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { startConditionalS3Proxy } from './conditional-s3-proxy.js';
import { emulatedAwsEnv, startS3Emulator } from './emulators.js';
import { uploadJobId } from '../../functions/lib/s3-event.js';
import { s3Notification } from './lambda-harness.js';

const require = createRequire(import.meta.url);
const LAYER = {
  ffmpeg: join(dirname(require.resolve('@ffmpeg-installer/linux-x64/package.json')), 'ffmpeg'),
  ffprobe: join(dirname(require.resolve('@ffprobe-installer/linux-x64/package.json')), 'ffprobe'),
};
/** Nothing listens here: an S3/SQS call would fail with a connection error, not with an ffmpeg verdict. */
const NOWHERE = 'http://127.0.0.1:9';

let scratch: string;
beforeAll(async () => {
  scratch = await scratchDir('splitter-ffmpeg');
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function coldStart(ffmpeg: string, s3 = NOWHERE): Promise<{ handler: (e: SQSEvent) => Promise<unknown>; restore: () => void }> {
  const env: Record<string, string> = {
    ...emulatedAwsEnv({ sqs: NOWHERE, json: NOWHERE, bucket: 'voxpipe-ingest', s3 }, 'voxpipe-splitter'),
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'voxpipe',
    VOXPIPE_WORK_QUEUE_URL: `${NOWHERE}/000000000000/work`,
    VOXPIPE_AGGREGATE_QUEUE_URL: `${NOWHERE}/000000000000/aggregate`,
    VOXPIPE_EVENT_BUS_NAME: 'voxpipe',
    VOXPIPE_PROVIDER: 'mistral',
    VOXPIPE_FFMPEG: ffmpeg,
    VOXPIPE_FFPROBE: LAYER.ffprobe,
    VOXPIPE_TMP_DIR: scratch,
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  vi.resetModules();
  const { handler } = await import('../../functions/splitter.js');
  return {
    handler: handler as (e: SQSEvent) => Promise<unknown>,
    restore: () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

function event(eTag = 'abc123', size = 1000): SQSEvent {
  const body = s3Notification('voxpipe-ingest', 'inbox/talk.mp3', eTag, size);
  return {
    Records: [
      {
        messageId: 'm-1',
        receiptHandle: 'r-1',
        body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:split',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

/** EMF documents the handler printed (Powertools Metrics writes them to stdout). */
function captureEmf(): { metrics: () => string[]; stop: () => void } {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return {
    metrics: () =>
      lines.flatMap((l) => {
        try {
          const doc = JSON.parse(l) as { _aws?: { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } };
          return doc._aws?.CloudWatchMetrics?.flatMap((m) => m.Metrics.map((x) => x.Name)) ?? [];
        } catch {
          return [];
        }
      }),
    stop: () => spy.mockRestore(),
  };
}

describe('splitter cold start: the ffmpeg check', () => {
  it('fails the whole invocation with FfmpegUnusable before touching the upload when ffmpeg lacks a needed filter', async () => {
    const broken = join(scratch, 'ffmpeg-without-silencedetect');
    await writeFile(broken, `#!/bin/sh\nif [ "$2" = "-filters" ]; then '${LAYER.ffmpeg}' "$@" | grep -v silencedetect; else exec '${LAYER.ffmpeg}' "$@"; fi\n`);
    await chmod(broken, 0o755);
    const { handler, restore } = await coldStart(broken);
    const emf = captureEmf();
    try {
      const err = await handler(event()).catch((e: unknown) => e);
      // Thrown, not a batch response: Lambda returns every record to the queue; no job is failed.
      // (A fresh module graph per cold start: compare by shape, not class identity.)
      expect((err as InstanceType<typeof FfmpegUnusableError>).infrastructure).toBe(true);
      expect((err as Error).message).not.toMatch(/corrupt|unsupported|not an audio file/);
      expect((err as Error).message).toMatch(/lacks filter silencedetect/);
      expect(emf.metrics()).toContain('FfmpegUnusable');
    } finally {
      emf.stop();
      restore();
    }
  });

  it("passes with the layer's 2018 binaries and goes on to the upload", async () => {
    const { handler, restore } = await coldStart(LAYER.ffmpeg);
    const emf = captureEmf();
    try {
      // The check passes; the record then fails on S3 (nothing listens), reported as a batch item failure.
      const res = (await handler(event())) as { batchItemFailures: { itemIdentifier: string }[] };
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
      expect(emf.metrics()).not.toContain('FfmpegUnusable');
    } finally {
      emf.stop();
      restore();
    }
  });

  it('counts an ffmpeg killed mid-decode as an infrastructure error: the record is retried, the job is not failed', async () => {
    const s3rver = await startS3Emulator([]);
    const proxy = await startConditionalS3Proxy(s3rver.endpoint);
    const killed = join(scratch, 'ffmpeg-killed-mid-decode');
    await writeFile(killed, `#!/bin/sh\ncase "$*" in *silencedetect*) kill -9 $$;; *) exec '${LAYER.ffmpeg}' "$@";; esac\n`);
    await chmod(killed, 0o755);
    const { handler, restore } = await coldStart(killed, proxy.endpoint);
    const client = s3rver.client();
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'voxpipe-ingest' }));
      const { path } = await toneSpeechFixture({ seed: 34, durationSeconds: 8, format: 'mp3' });
      const put = await client.send(new PutObjectCommand({ Bucket: 'voxpipe-ingest', Key: 'inbox/talk.mp3', Body: await readFile(path) }));
      const eTag = (put.ETag ?? '').replace(/"/g, '');
      const emf = captureEmf();
      let res: { batchItemFailures: { itemIdentifier: string }[] };
      try {
        res = (await handler(event(eTag, 1))) as typeof res;
      } finally {
        emf.stop();
      }
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
      expect(emf.metrics()).toContain('InfrastructureErrors');
      const jobId = uploadJobId({ bucket: 'voxpipe-ingest', key: 'inbox/talk.mp3', version: eTag });
      const store = createS3Store({ client, bucket: 'voxpipe-ingest' });
      expect(await store.exists(jobKeys(jobId).result('json'))).toBe(false); // no failed result: nothing to blame the file for
      if (await store.exists(jobKeys(jobId).status)) {
        const status = JSON.parse(new TextDecoder().decode(await store.get(jobKeys(jobId).status))) as { state: string };
        expect(status.state).not.toBe('failed');
      }
    } finally {
      restore();
      client.destroy();
      await proxy.close();
      await s3rver.close();
    }
  });
});
