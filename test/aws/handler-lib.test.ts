/** The Lambda-side helpers: S3 event parsing and key decoding, job ids, and the upload dedup claim. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeS3Key, uploadJobId, uploadsOf } from '../../functions/lib/s3-event.js';
import { claimSource } from '../../functions/lib/source-claim.js';
import { processSqsBatch, redeliveryDelaySeconds, toBatchResponse } from '../../functions/lib/sqs-batch.js';
import { Logger } from '@aws-lambda-powertools/logger';
import { TransientError } from '../../shared/core/errors.js';
import type { SQSRecord } from 'aws-lambda';
import { createEventBridgeNotifier } from '../../shared/adapters/eventbridge-notifier.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import { s3Notification } from './lambda-harness.js';

describe('S3 notifications', () => {
  it('decodes keys the way S3 encodes them (+ for space, %xx for UTF-8)', () => {
    expect(decodeS3Key('inbox/my+talk+%C3%A9t%C3%A9+%282%29.mp3')).toBe('inbox/my talk été (2).mp3');
    expect(decodeS3Key('inbox/a%2Bb.mp3')).toBe('inbox/a+b.mp3');
  });

  it('reads created objects from a notification body, decoded, and nothing from the s3:TestEvent', () => {
    const body = JSON.parse(s3Notification('bkt', 'inbox/Réunion 1+1.m4a', 'abc123', 42));
    expect(uploadsOf(body)).toEqual([{ bucket: 'bkt', key: 'inbox/Réunion 1+1.m4a', version: 'abc123', size: 42 }]);
    expect(uploadsOf({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'bkt' })).toEqual([]);
    expect(() => uploadsOf({ hello: 'world' })).toThrow();
  });

  it('gives the same object the same job and a new version a new job', () => {
    const upload = { bucket: 'b', key: 'inbox/a.mp3', version: 'v1' };
    expect(uploadJobId(upload)).toBe(uploadJobId({ ...upload }));
    expect(uploadJobId(upload)).not.toBe(uploadJobId({ ...upload, version: 'v2' }));
    expect(uploadJobId(upload)).toMatch(/^[0-9a-f]{20}$/);
  });
});

describe('source claim (fs store: conditional writes)', () => {
  const root = mkdtempSync(join(tmpdir(), 'voxpipe-claim-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const store = createFsStore(root);
  const opts = { now: Date.parse('2026-01-01T00:00:00Z'), splitTimeoutMs: 900_000 };

  it('lets exactly one of concurrent notifications split', async () => {
    const decisions = await Promise.all(Array.from({ length: 8 }, () => claimSource(store, 'job-a', 's3://b/inbox/a.mp3', opts)));
    expect(decisions.filter((d) => d === 'split')).toHaveLength(1);
    expect(decisions.filter((d) => d === 'in-progress')).toHaveLength(7);
  });

  it('drops a notification for a job past splitting', async () => {
    await claimSource(store, 'job-b', 's', opts);
    await store.put(jobKeys('job-b').status, JSON.stringify({ jobId: 'job-b', source: 's', state: 'transcribing', updatedAt: '' }));
    expect(await claimSource(store, 'job-b', 's', { ...opts, now: opts.now + 3600_000 })).toBe('duplicate');
  });

  it('takes over a split whose claim outlived the splitter timeout (the winner died)', async () => {
    await claimSource(store, 'job-c', 's', opts);
    await store.put(jobKeys('job-c').status, JSON.stringify({ jobId: 'job-c', source: 's', state: 'splitting', updatedAt: '' }));
    expect(await claimSource(store, 'job-c', 's', { ...opts, now: opts.now + 60_000 })).toBe('in-progress');
    expect(await claimSource(store, 'job-c', 's', { ...opts, now: opts.now + 901_000 })).toBe('take-over');
    // The take-over refreshed the claim: a third copy right after it waits.
    expect(await claimSource(store, 'job-c', 's', { ...opts, now: opts.now + 902_000 })).toBe('in-progress');
  });
});

describe('partial batch response', () => {
  it('names only the failed records', () => {
    expect(
      toBatchResponse([
        { status: 'success', messageId: 'a' },
        { status: 'fail', messageId: 'b', error: new Error('x') },
        { status: 'success', messageId: 'c' },
      ]),
    ).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }] });
  });

  const records = (ids: string[]) =>
    ({ Records: ids.map((messageId) => ({ messageId, body: messageId, eventSource: 'aws:sqs', attributes: { ApproximateReceiveCount: '1' } })) }) as unknown as import('aws-lambda').SQSEvent;
  const quiet = new Logger({ logLevel: 'SILENT' });

  it('processSqsBatch (Powertools) runs records one at a time and reports only the failed ones', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: string[] = [];
    const res = await processSqsBatch(records(['a', 'b', 'c']), async (r) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      seen.push(r.messageId);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      if (r.messageId === 'b') throw new TransientError('provider down');
    }, quiet);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }] });
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
  });

  it('processSqsBatch reports a batch whose every record failed instead of throwing', async () => {
    const res = await processSqsBatch(records(['a', 'b']), async () => {
      throw new Error('bad');
    }, quiet);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] });
  });
});

describe('redelivery delay of a failed record', () => {
  const received = (n: number) => ({ attributes: { ApproximateReceiveCount: String(n) } }) as unknown as SQSRecord;

  it('follows the server’s Retry-After when the error has one', () => {
    expect(redeliveryDelaySeconds(received(1), new TransientError('429', { retryAfterMs: 7_500, rateLimited: true }), 10)).toBe(8);
  });

  it('backs off exponentially with the receive count, capped at 15 minutes', () => {
    expect([1, 2, 3, 4].map((n) => redeliveryDelaySeconds(received(n), new Error('x'), 10))).toEqual([10, 20, 40, 80]);
    expect(redeliveryDelaySeconds(received(12), new Error('x'), 10)).toBe(900);
  });
});

describe('EventBridge notifier', () => {
  const client = (failed: number) => {
    const sent: any[] = [];
    return {
      sent,
      client: {
        send: async (cmd: { input: unknown }) => {
          sent.push(cmd.input);
          return { FailedEntryCount: failed, Entries: [failed ? { ErrorCode: 'InternalFailure' } : { EventId: '1' }] };
        },
      } as any,
    };
  };

  it('publishes job.completed / job.failed as voxpipe.<type> on the bus, and skips progress', async () => {
    const { client: c, sent } = client(0);
    const notifier = createEventBridgeNotifier({ client: c, eventBusName: 'voxpipe' });
    await notifier.notify({ type: 'job.progress', jobId: 'j', chunksDone: 1, chunksTotal: 2 });
    await notifier.notify({ type: 'job.failed', jobId: 'j', source: 's3://b/inbox/a.mp3', reason: 'chunk 3 rejected', resultKeys: ['results/j/transcript.json'] });
    expect(sent).toHaveLength(1);
    expect(sent[0].Entries[0]).toMatchObject({ EventBusName: 'voxpipe', Source: 'voxpipe', DetailType: 'voxpipe.job.failed' });
    expect(JSON.parse(sent[0].Entries[0].Detail)).toMatchObject({ jobId: 'j', reason: 'chunk 3 rejected' });
  });

  it('fails with TransientError when EventBridge reports a failed entry', async () => {
    const notifier = createEventBridgeNotifier({ client: client(1).client, eventBusName: 'voxpipe' });
    await expect(notifier.notify({ type: 'job.completed', jobId: 'j', source: 's', resultKeys: [] })).rejects.toBeInstanceOf(TransientError);
  });
});
