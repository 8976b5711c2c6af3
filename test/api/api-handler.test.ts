/**
 * The job API's shared code (shared/api) over a real filesystem store, with a recording submitter and a
 * fake URL signer: validation, authentication, tenant isolation, status derived from pipeline state, retry.
 * Every request and response is checked against api/openapi.yaml.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createApiKey, createStoreApiKeys } from '../../shared/api/api-keys.js';
import { type ApiRequest, createApi } from '../../shared/api/handler.js';
import type { JobSubmitter } from '../../shared/api/ports.js';
import { type ApiJobRecord, apiKeys, readJobRequest } from '../../shared/api/records.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { BlobStore } from '../../shared/ports.js';
import { scratchDir } from '../fixtures/audio.js';
import { silentLogger } from '../e2e/local-harness.js';
import { assertValidRequest, assertValidResponse, isValidRequest } from './openapi-contract.js';

let store: BlobStore;
let started: ApiJobRecord[];
let api: ReturnType<typeof createApi>;
let keyA: string;
let keyB: string;
let nextId: number;

beforeEach(async () => {
  store = createFsStore(await scratchDir('api'));
  started = [];
  nextId = 0;
  const submitter: JobSubmitter = { start: async (r) => void started.push(r) };
  api = createApi({
    store,
    keys: createStoreApiKeys(store),
    submitter,
    signer: { getUrl: async (k) => encodeURI(`https://signed.example/get/${k}`), putUrl: async (k) => encodeURI(`https://signed.example/put/${k}`) },
    logger: silentLogger,
    newJobId: () => `job${String(++nextId).padStart(17, '0')}`,
  });
  keyA = await createApiKey(store, 'tenant-a');
  keyB = await createApiKey(store, 'tenant-b');
  await store.put('tenants/tenant-a/inbox/talk.mp3', 'audio');
});

/** Send a request; check it (when it has a body) and its response against the OpenAPI document. */
async function call(method: string, path: string, opts: { key?: string | null; body?: unknown; raw?: string; template?: string; query?: Record<string, string> } = {}) {
  const key = opts.key === undefined ? keyA : opts.key;
  const req: ApiRequest = {
    method,
    path,
    query: opts.query ?? {},
    headers: key ? { authorization: `Bearer ${key}` } : {},
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  };
  const res = await api(req);
  assertValidResponse(method, opts.template ?? path, res.status, res.body);
  return res as { status: number; headers: Record<string, string>; body: any };
}

describe('POST /jobs', () => {
  it('accepts an upload job with a presigned PUT under uploads/<jobId>/ and records the tenant', async () => {
    const body = { source: { upload: true, fileName: 'Board meeting.mp3' }, options: { language: 'en', words: true }, webhook: { url: 'https://hooks.example/x' } };
    assertValidRequest('POST', '/jobs', body);

    const res = await call('POST', '/jobs', { body });

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ jobId: 'job00000000000000001', state: 'awaiting_upload', uploadUrl: 'https://signed.example/put/uploads/job00000000000000001/Board%20meeting.mp3' });
    expect(res.headers.location).toBe('/jobs/job00000000000000001');
    expect(started).toEqual([]); // the upload starts it
    expect(await readJobRequest(store, 'job00000000000000001')).toMatchObject({ tenant: 'tenant-a', options: { language: 'en', words: true } });
    expect(await store.exists(apiKeys.tenantJob('tenant-a', 'job00000000000000001'))).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(await store.get('jobs/job00000000000000001/webhook.json')))).toEqual({ url: 'https://hooks.example/x', secretName: 'voxpipe/webhooks/tenants/tenant-a' });
  });

  it('starts an s3Key job at once', async () => {
    const res = await call('POST', '/jobs', { body: { source: { s3Key: 'tenants/tenant-a/inbox/talk.mp3' } } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: 'job00000000000000001', state: 'queued' });
    expect(started.map((r) => [r.jobId, r.sourceKey, r.sourceKind])).toEqual([['job00000000000000001', 'tenants/tenant-a/inbox/talk.mp3', 's3Key']]);
  });

  it.each([
    ['no source', { options: {} }, 'source'],
    ['both sources', { source: { s3Key: 'inbox/a.mp3', upload: true } }, 'source'],
    ['upload not true', { source: { upload: false } }, 'source.upload'],
    ['a path as file name', { source: { upload: true, fileName: '../x.mp3' } }, 'source.fileName'],
    ['unknown option', { source: { upload: true }, options: { colour: 'red' } }, 'options.colour'],
    ['bad language', { source: { upload: true }, options: { language: 'english' } }, 'options.language'],
    ['chunk too short', { source: { upload: true }, options: { chunkSeconds: 1 } }, 'options.chunkSeconds'],
    ['words not boolean', { source: { upload: true }, options: { words: 'yes' } }, 'options.words'],
    ['webhook not a URL', { source: { upload: true }, webhook: { url: 'not a url' } }, 'webhook.url'],
    ['unknown top-level field', { source: { upload: true }, priority: 1 }, 'priority'],
  ])('fails with 400 naming the field: %s', async (_label, body, field) => {
    const res = await call('POST', '/jobs', { body });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(res.body.error.message).toContain(field);
    expect(started).toEqual([]);
    // The document rejects it too (except where only the server can tell, e.g. a file name with a path).
    if (field !== 'source.fileName' && field !== 'webhook.url') expect(isValidRequest('POST', '/jobs', body)).toBe(false);
  });

  it('fails with 400 for a body that is not JSON, a key outside inbox/, or a missing object', async () => {
    expect((await call('POST', '/jobs', { raw: '{not json' })).body.error.field).toBe('body');
    const outside = await call('POST', '/jobs', { body: { source: { s3Key: 'api-keys/abc.json' } } });
    expect(outside.body.error).toMatchObject({ field: 'source.s3Key' });
    const missing = await call('POST', '/jobs', { body: { source: { s3Key: 'tenants/tenant-a/inbox/nope.mp3' } } });
    expect(missing.body.error).toMatchObject({ field: 'source.s3Key', message: expect.stringContaining('no such object') });
  });
});

describe('authentication', () => {
  it.each([
    ['no key', null],
    ['an unknown key', 'vxp_not-a-real-key'],
  ])('fails with 401 for %s, on every route', async (_label, key) => {
    for (const [method, path, template] of [
      ['POST', '/jobs', '/jobs'],
      ['GET', '/jobs', '/jobs'],
      ['GET', '/jobs/job00000000000000001', '/jobs/{jobId}'],
      ['POST', '/jobs/job00000000000000001/retry', '/jobs/{jobId}/retry'],
    ] as const) {
      const res = await call(method, path, { key, template, body: method === 'POST' ? { source: { upload: true } } : undefined });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('accepts the key in x-api-key too, and never stores the key itself', async () => {
    const res = await api({ method: 'GET', path: '/jobs', query: {}, headers: { 'x-api-key': keyB }, body: undefined });
    expect(res.status).toBe(200);
    const stored: string[] = [];
    for await (const k of store.list('api-keys/')) stored.push(new TextDecoder().decode(await store.get(k)) + k);
    expect(stored.join('\n')).not.toContain(keyA);
  });
});

describe('tenant isolation', () => {
  it("answers 404 for another tenant's job, exactly as for an unknown one, and lists only own jobs", async () => {
    const { body } = await call('POST', '/jobs', { body: { source: { upload: true } } });

    const asB = await call('GET', `/jobs/${body.jobId}`, { key: keyB, template: '/jobs/{jobId}' });
    const unknown = await call('GET', '/jobs/job99999999999999999', { key: keyB, template: '/jobs/{jobId}' });
    const retryAsB = await call('POST', `/jobs/${body.jobId}/retry`, { key: keyB, template: '/jobs/{jobId}/retry' });

    expect(asB.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(retryAsB.status).toBe(404);
    expect(asB.body.error.code).toBe(unknown.body.error.code);
    expect((await call('GET', '/jobs', { key: keyB })).body.jobs).toEqual([]);
    expect((await call('GET', '/jobs', { key: keyA })).body.jobs.map((j: any) => j.jobId)).toEqual([body.jobId]);
  });
});

describe('GET /jobs/{id}', () => {
  it('reports awaiting_upload, then progress and cost so far while transcribing, then result links', async () => {
    const { body } = await call('POST', '/jobs', { body: { source: { upload: true, fileName: 'a.mp3' } } });
    const id = body.jobId as string;
    const keys = jobKeys(id);
    const get = () => call('GET', `/jobs/${id}`, { template: '/jobs/{jobId}' });

    expect((await get()).body).toMatchObject({ state: 'awaiting_upload', progress: { chunksDone: 0, chunksTotal: null } });
    await store.put(apiKeys.upload(id, 'a.mp3'), 'audio');
    expect((await get()).body.state).toBe('queued');

    // WHEN the pipeline has split into 3 chunks and transcribed one
    await store.put(keys.status, JSON.stringify({ jobId: id, source: 'x', state: 'transcribing', updatedAt: new Date().toISOString(), chunksTotal: 3, chunksDone: 0 }));
    await store.put(keys.chunkResult({ index: 0, start: 0, end: 30 }), JSON.stringify(okChunk(id, 0, 30, 0.01)));
    const running = (await get()).body;
    expect(running).toMatchObject({ state: 'transcribing', progress: { chunksDone: 1, chunksTotal: 3 }, usage: { audioSeconds: 30, costUsd: 0.01 } });
    expect(running.results).toBeUndefined();

    // WHEN it completes
    await store.put(keys.status, JSON.stringify({ jobId: id, source: 'x', state: 'completed', updatedAt: new Date().toISOString() }));
    await store.put(keys.result('json'), JSON.stringify({ chunks: [{}, {}, {}], usage: { audioSeconds: 90, costUsd: 0.03 } }));
    await store.put(keys.result('txt'), 'hello');
    const done = (await get()).body;
    expect(done).toMatchObject({ state: 'completed', progress: { chunksDone: 3, chunksTotal: 3 }, usage: { audioSeconds: 90, costUsd: 0.03 } });
    expect(done.timings.finishedAt).toBeDefined();
    expect(done.results.files).toEqual([
      { name: 'transcript.json', url: `https://signed.example/get/results/${id}/transcript.json` },
      { name: 'transcript.txt', url: `https://signed.example/get/results/${id}/transcript.txt` },
    ]);
  });

  it('answers 404 for a malformed id and 405 for a wrong method', async () => {
    expect((await call('GET', '/jobs/..%2F..%2Fapi-keys', { template: '/jobs/{jobId}' })).status).toBe(404);
    const res = await api({ method: 'DELETE', path: '/jobs/job00000000000000001', query: {}, headers: {}, body: undefined });
    expect(res.status).toBe(405);
  });
});

describe('GET /jobs?status= and POST /jobs/{id}/retry', () => {
  it('lists failed jobs, refuses to retry a running one (409), and retries a failed one keeping its good chunks', async () => {
    const a = (await call('POST', '/jobs', { body: { source: { s3Key: 'tenants/tenant-a/inbox/talk.mp3' } } })).body.jobId as string;
    const b = (await call('POST', '/jobs', { body: { source: { s3Key: 'tenants/tenant-a/inbox/talk.mp3' } } })).body.jobId as string;
    const ka = jobKeys(a);
    await store.put(ka.status, JSON.stringify({ jobId: a, source: 'x', state: 'failed', reason: 'chunk 1: provider rejected audio', updatedAt: new Date().toISOString() }));
    await store.put(ka.chunkResult({ index: 0, start: 0, end: 30 }), JSON.stringify(okChunk(a, 0, 30)));
    await store.put(ka.chunkResult({ index: 1, start: 30, end: 60 }), JSON.stringify({ status: 'failed', jobId: a, index: 1, attempts: 1, provider: 'p', model: 'm', error: 'rejected' }));
    await store.put(ka.result('json'), '{}');
    await store.put(ka.claim, 'x');
    await store.put(jobKeys(b).status, JSON.stringify({ jobId: b, source: 'x', state: 'transcribing', updatedAt: new Date().toISOString() }));

    const failed = await call('GET', '/jobs', { query: { status: 'failed' } });
    expect(failed.body.jobs).toEqual([expect.objectContaining({ jobId: a, state: 'failed', reason: 'chunk 1: provider rejected audio' })]);
    expect((await call('GET', '/jobs', { query: { status: 'exploded' } })).body.error.field).toBe('status');

    expect((await call('POST', `/jobs/${b}/retry`, { template: '/jobs/{jobId}/retry' })).status).toBe(409);
    started.length = 0;
    const retried = await call('POST', `/jobs/${a}/retry`, { template: '/jobs/{jobId}/retry' });

    expect(retried.status).toBe(202);
    expect(started.map((r) => r.jobId)).toEqual([a]);
    expect(await store.exists(ka.chunkResult({ index: 0, start: 0, end: 30 }))).toBe(true);
    for (const gone of [ka.chunkResult({ index: 1, start: 30, end: 60 }), ka.result('json'), ka.claim, ka.status]) expect(await store.exists(gone), gone).toBe(false);
    expect((await call('GET', `/jobs/${a}`, { template: '/jobs/{jobId}' })).body).toMatchObject({ state: 'queued', progress: { chunksDone: 1 } });
  });
});

function okChunk(jobId: string, index: number, seconds: number, costUsd?: number) {
  return {
    status: 'ok',
    jobId,
    index,
    attempts: 1,
    transcript: { text: 'x', provider: 'p', model: 'm', usage: { audioSeconds: seconds, ...(costUsd !== undefined ? { costUsd } : {}) } },
  };
}
