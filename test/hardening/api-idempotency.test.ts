/** Issue 11, Low: `POST /jobs` takes an `Idempotency-Key`: a retried request answers the first job, never a second one. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createApiKey, createStoreApiKeys } from '../../shared/api/api-keys.js';
import { createApi } from '../../shared/api/handler.js';
import type { ApiJobRecord } from '../../shared/api/records.js';
import type { BlobStore } from '../../shared/ports.js';
import { assertValidResponse } from '../api/openapi-contract.js';
import { silentLogger } from '../e2e/local-harness.js';
import { scratchDir } from '../fixtures/audio.js';

let store: BlobStore;
let api: ReturnType<typeof createApi>;
let started: ApiJobRecord[];
let keyA: string;
let keyB: string;

beforeEach(async () => {
  store = createFsStore(await scratchDir('idem'));
  started = [];
  let n = 0;
  api = createApi({
    store,
    keys: createStoreApiKeys(store),
    submitter: { start: async (r) => void started.push(r) },
    signer: { getUrl: async (k) => `https://s.example/${k}`, putUrl: async (k) => `https://s.example/${k}?n=${++n}` },
    logger: silentLogger,
  });
  keyA = await createApiKey(store, 'tenant-a');
  keyB = await createApiKey(store, 'tenant-b');
  await store.put('tenants/tenant-a/inbox/a.mp3', 'x');
  await store.put('tenants/tenant-b/inbox/a.mp3', 'x');
});

const post = async (key: string, body: unknown, idem?: string) => {
  const res = await api({ method: 'POST', path: '/jobs', query: {}, headers: { authorization: `Bearer ${key}`, ...(idem ? { 'idempotency-key': idem } : {}) }, body: JSON.stringify(body) });
  assertValidResponse('POST', '/jobs', res.status, res.body);
  return res as { status: number; headers: Record<string, string>; body: { jobId: string; uploadUrl?: string; error?: { code: string } } };
};

describe('POST /jobs with Idempotency-Key', () => {
  it('answers concurrent and repeated requests with one job', async () => {
    const body = { source: { s3Key: 'tenants/tenant-a/inbox/a.mp3' } };
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(keyA, body, 'order-42')));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.jobId)).size).toBe(1);
    expect(started).toHaveLength(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(4);
  });

  it('gives an upload job again with a fresh upload URL', async () => {
    const first = await post(keyA, { source: { upload: true, fileName: 't.mp3' } }, 'u-1');
    const again = await post(keyA, { source: { upload: true, fileName: 't.mp3' } }, 'u-1');
    expect(again.body.jobId).toBe(first.body.jobId);
    expect(again.body.uploadUrl).toContain(`uploads/${first.body.jobId}/t.mp3`);
  });

  it('refuses the same key with another body (409), and keeps keys per tenant', async () => {
    await post(keyA, { source: { upload: true } }, 'k');
    expect((await post(keyA, { source: { upload: true, fileName: 'other.mp3' } }, 'k')).status).toBe(409);
    const b = await post(keyB, { source: { upload: true } }, 'k');
    expect(b.status).toBe(202);
  });

  it('without the header, every request is a new job', async () => {
    const a = await post(keyA, { source: { upload: true } });
    const b = await post(keyA, { source: { upload: true } });
    expect(a.body.jobId).not.toBe(b.body.jobId);
  });
});
