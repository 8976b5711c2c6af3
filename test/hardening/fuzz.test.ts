/**
 * Issue 11, property and fuzz tests (fast-check):
 * - the job API's request parsing: random JSON bodies, paths, percent-encodings and queries give a 4xx
 *   (or a 2xx), never a 500;
 * - key and path building: no key or path built from a client's, a drop's or a file's name escapes its
 *   prefix or folder.
 */
import { join, relative, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { uniqueResultNames } from '../../cli/result-names.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createApiKey, createStoreApiKeys } from '../../shared/api/api-keys.js';
import { type ApiRequest, createApi } from '../../shared/api/handler.js';
import { apiKeys } from '../../shared/api/records.js';
import { isSafeKey, isSafeKeyUnder } from '../../shared/core/key-safety.js';
import { dropKeys, LOCAL_DROP_ROOTS, parseDropKey, S3_DROP_ROOTS } from '../../shared/core/profile-paths.js';
import type { BlobStore } from '../../shared/ports.js';
import { silentLogger } from '../e2e/local-harness.js';
import { scratchDir } from '../fixtures/audio.js';

const RUNS = 300;

/** Path-ish strings: segments of dots, slashes, percent escapes (valid and broken), unicode. */
const pathish = fc
  .array(fc.oneof(fc.constantFrom('', '.', '..', '%', '%2F', '%2e%2e', '%E0%A4%A', '%zz', '%00', 'jobs', 'retry', 'inbox', 'tenants', '\\', '~'), fc.string(), fc.string({ unit: 'grapheme' })), { maxLength: 6 })
  .map((parts) => parts.join('/'));

describe('job API request parsing never answers 500', () => {
  let store: BlobStore;
  let api: ReturnType<typeof createApi>;
  let key: string;
  beforeAll(async () => {
    store = createFsStore(await scratchDir('fuzz-api'));
    let n = 0;
    api = createApi({
      store,
      keys: createStoreApiKeys(store),
      submitter: { start: async () => undefined },
      signer: { getUrl: async (k) => `https://s.example/${encodeURI(k)}`, putUrl: async (k) => `https://s.example/${encodeURI(k)}` },
      logger: silentLogger,
      newJobId: () => `fuzz${String(++n).padStart(16, '0')}`,
      // No DNS from a fuzz run: names are checked as if they resolved to a public address.
      webhookPolicy: { mode: 'cloud', resolve: async () => [{ address: '93.184.216.34', family: 4 }] },
    });
    key = await createApiKey(store, 'fuzz');
    await store.put('tenants/fuzz/inbox/a.mp3', 'x');
  });

  const body = fc.oneof(
    fc.json(),
    fc.string(),
    fc.jsonValue().map((v) => JSON.stringify({ source: v })),
    fc.record({
      source: fc.oneof(
        fc.record({ s3Key: fc.oneof(pathish, fc.string()) }),
        fc.record({ upload: fc.constant(true), fileName: fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 300 }), pathish) }, { requiredKeys: ['upload'] }),
        fc.jsonValue(),
      ),
      options: fc.oneof(fc.jsonValue(), fc.record({ language: fc.string(), chunkSeconds: fc.oneof(fc.double(), fc.integer()), words: fc.jsonValue() }, { requiredKeys: [] })),
      webhook: fc.oneof(fc.jsonValue(), fc.record({ url: fc.oneof(fc.webUrl(), fc.string(), fc.constantFrom('https://[::ffff:0:127.0.0.1]/', 'https://[2002:7f00:1::]/', 'http://x', 'https://%zz/')) })),
    }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  );

  it('for random methods, paths, queries, headers and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'get', 'OPTIONS'),
        fc.oneof(pathish.map((p) => `/jobs/${p}`), pathish.map((p) => `/${p}`), fc.constantFrom('/jobs', '/jobs/', '/jobs/%', '/jobs/%E0%A4%A/retry', '/jobs/abc%2F..%2F/retry')),
        fc.dictionary(fc.constantFrom('status', 'limit', 'cursor', 'x'), fc.oneof(fc.string(), fc.constantFrom('-1', '0', '1e9', 'NaN', '1.5', 'failed'))),
        fc.boolean(),
        fc.option(body, { nil: undefined }),
        async (method, path, query, authorised, reqBody) => {
          const req: ApiRequest = { method, path, query, headers: authorised ? { authorization: `Bearer ${key}` } : {}, body: reqBody };
          const res = await api(req);
          expect(res.status, `${method} ${path} ${reqBody ?? ''}`).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('every accepted s3Key job names a key inside the tenant’s own prefix', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(pathish, pathish.map((p) => `tenants/fuzz/inbox/${p}`), fc.constantFrom('tenants/fuzz/inbox/a.mp3', 'tenants/fuzz/inbox/./a.mp3', 'tenants/fuzz/inbox//a.mp3')), async (s3Key) => {
        const res = await api({ method: 'POST', path: '/jobs', query: {}, headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ source: { s3Key } }) });
        expect(res.status).toBeLessThan(500);
        if (res.status === 202) expect(isSafeKeyUnder(s3Key, apiKeys.tenantSourcesPrefix('fuzz'))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('every accepted upload names a single file under uploads/<jobId>/ that fits a file system (≤ 255 bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }), pathish), async (fileName) => {
        const res = await api({ method: 'POST', path: '/jobs', query: {}, headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ source: { upload: true, fileName } }) });
        expect(res.status).toBeLessThan(500);
        if (res.status === 202) {
          const jobId = (res.body as { jobId: string }).jobId;
          const k = apiKeys.upload(jobId, fileName);
          expect(isSafeKeyUnder(k, `uploads/${jobId}/`)).toBe(true);
          expect(k.slice(`uploads/${jobId}/`.length)).not.toContain('/');
          expect(Buffer.byteLength(fileName, 'utf8')).toBeLessThanOrEqual(255);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('key and path building never escapes its prefix or folder', () => {
  const keyish = fc.oneof(pathish, fc.string(), fc.constantFrom('inbox/../x', 'inbox/../../etc/passwd', 'inbox/meetings/../../x', 'inbox/./a/b', '/abs', 'inbox/a//b'));

  it('a drop key parses only into a profile and path whose every derived key stays in its area', () => {
    fc.assert(
      fc.property(keyish, fc.constantFrom(S3_DROP_ROOTS, LOCAL_DROP_ROOTS), (key, roots) => {
        const ref = parseDropKey(key, roots);
        if (!ref) return;
        const keys = dropKeys(ref, roots);
        expect(isSafeKey(`${ref.profile}/${ref.path}`)).toBe(true);
        for (const [k, prefix] of [
          [keys.moved('processed'), 'processed/'],
          [keys.moved('failed'), 'failed/'],
          [keys.reason('processed'), 'processed/'],
          [keys.reason('failed'), 'failed/'],
          [keys.result('json'), roots.results],
          [keys.source, roots.inbox],
        ] as const) {
          expect(k.startsWith(prefix), k).toBe(true);
          expect(isSafeKey(k), k).toBe(true);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('the fs store maps every key it accepts to a path under its root', async () => {
    const root = await scratchDir('fuzz-store');
    const store = createFsStore(root);
    await fc.assert(
      fc.asyncProperty(keyish, async (key) => {
        const exists = await store.exists(key).catch(() => 'refused' as const);
        void exists;
        if (!isSafeKey(key)) return;
        const path = resolve(join(root, ...key.split('/')));
        const rel = relative(root, path);
        expect(rel.startsWith('..') || rel.startsWith(sep) || rel === '').toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('result names of one run are distinct single file names', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(pathish, fc.constantFrom('a/talk.wav', 'b/talk.wav', 'talk-2.wav', 'Talk.WAV', 'talk-3.mp3')), { maxLength: 12 }), (files) => {
        const names = uniqueResultNames(files);
        expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(files.length);
        for (const n of names) expect(n.includes('/')).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
