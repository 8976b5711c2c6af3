/**
 * Issue 11, High 1: the job API never lets one tenant start (and so read) a job on another tenant's audio,
 * answers "not there" and "not yours" alike, and refuses keys with empty or dot segments.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createApiKey, createStoreApiKeys } from '../../shared/api/api-keys.js';
import { createApi } from '../../shared/api/handler.js';
import type { ApiJobRecord } from '../../shared/api/records.js';
import type { BlobStore } from '../../shared/ports.js';
import { silentLogger } from '../e2e/local-harness.js';
import { scratchDir } from '../fixtures/audio.js';

let store: BlobStore;
let api: ReturnType<typeof createApi>;
let started: ApiJobRecord[];
let keyA: string;
let keyB: string;

beforeEach(async () => {
  store = createFsStore(await scratchDir('api-tenants'));
  started = [];
  api = createApi({
    store,
    keys: createStoreApiKeys(store),
    submitter: { start: async (r) => void started.push(r) },
    signer: { getUrl: async (k) => `https://signed.example/${k}`, putUrl: async (k) => `https://signed.example/${k}` },
    logger: silentLogger,
  });
  keyA = await createApiKey(store, 'tenant-a');
  keyB = await createApiKey(store, 'tenant-b');
  await store.put('tenants/tenant-a/inbox/board-call.wav', 'audio of a');
  await store.put('inbox/meetings/board-call.wav', 'audio of the shared inbox');
});

const submit = (key: string, s3Key: string) =>
  api({ method: 'POST', path: '/jobs', query: {}, headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ source: { s3Key } }) });

describe('job API sources are scoped per tenant', () => {
  it('starts a job on the tenant’s own source', async () => {
    const res = await submit(keyA, 'tenants/tenant-a/inbox/board-call.wav');
    expect(res.status).toBe(202);
    expect(started.map((r) => r.sourceKey)).toEqual(['tenants/tenant-a/inbox/board-call.wav']);
  });

  it.each([
    ['another tenant’s object', 'tenants/tenant-a/inbox/board-call.wav'],
    ['the shared inbox', 'inbox/meetings/board-call.wav'],
    ['a key outside every source prefix', 'api-keys/0000.json'],
  ])('refuses %s, with the same answer as for a missing object', async (_label, s3Key) => {
    const refused = await submit(keyB, s3Key);
    const missing = await submit(keyB, 'tenants/tenant-b/inbox/no-such-file.wav');
    expect(refused.status).toBe(400);
    expect(missing.status).toBe(400);
    // No existence oracle: the answer does not depend on whether the object exists, nor name it.
    const strip = (body: unknown, key: string) => JSON.stringify(body).replaceAll(key, '<key>');
    expect(strip(refused.body, s3Key)).toBe(strip(missing.body, 'tenants/tenant-b/inbox/no-such-file.wav'));
    expect(started).toEqual([]);
  });

  it.each(['inbox/./meetings/board-call.wav', 'tenants/tenant-a/inbox//board-call.wav', 'tenants/tenant-a/inbox/./board-call.wav', 'tenants/tenant-a/inbox/sub/../board-call.wav', 'tenants/tenant-a/inbox/', '/tenants/tenant-a/inbox/board-call.wav'])(
    'rejects empty and dot segments: %s',
    async (s3Key) => {
      const res = await submit(keyA, s3Key);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { field: 'source.s3Key' } });
      // The refusal is about the key's form alone: it says nothing of whether an object is there.
      expect(JSON.stringify(res.body)).toMatch(/segment|starts with/);
      expect(started).toEqual([]);
    },
  );
});

describe('job API webhook URLs are checked against the SSRF rules at submission', () => {
  const withWebhook = (url: string) =>
    api({ method: 'POST', path: '/jobs', query: {}, headers: { authorization: `Bearer ${keyA}` }, body: JSON.stringify({ source: { upload: true }, webhook: { url } }) });

  it.each(['https://127.0.0.1/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::ffff:0:10.0.0.1]/x', 'https://[2002:a9fe:a9fe::]/x', 'http://93.184.216.34/x', 'https://user:pw@93.184.216.34/x'])(
    'refuses %s with 400 on webhook.url',
    async (url) => {
      const res = await withWebhook(url);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { field: 'webhook.url', message: expect.stringContaining('refused') } });
      expect(await store.exists('jobs')).toBe(false);
    },
  );

  it('accepts a public https receiver, signed with the tenant’s own secret (never the stack-wide one)', async () => {
    const res = await withWebhook('https://93.184.216.34/hook');
    expect(res.status).toBe(202);
    const target = JSON.parse(new TextDecoder().decode(await store.get(`jobs/${(res.body as { jobId: string }).jobId}/webhook.json`)));
    expect(target).toEqual({ url: 'https://93.184.216.34/hook', secretName: 'voxpipe/webhooks/tenants/tenant-a' });
  });
});

describe('job API: malformed input is a 400, checked at submission', () => {
  it('answers 400 (not 500) to malformed percent-encoding, before auth', async () => {
    for (const path of ['/jobs/%E0%A4%A', '/jobs/%zz/retry', '/jobs/%']) {
      const res = await api({ method: 'GET', path, query: {}, headers: {}, body: undefined });
      expect(res.status, path).toBe(400);
    }
    const retry = await api({ method: 'POST', path: '/jobs/%zz/retry', query: {}, headers: {}, body: undefined });
    expect(retry.status).toBe(400);
  });

  it('refuses a file name over 255 bytes at submission (154 characters, 304 bytes)', async () => {
    const res = await api({
      method: 'POST',
      path: '/jobs',
      query: {},
      headers: { authorization: `Bearer ${keyA}` },
      body: JSON.stringify({ source: { upload: true, fileName: `${'é'.repeat(150)}.mp3` } }),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { field: 'source.fileName', message: expect.stringContaining('255 bytes') } });
  });
});
