/**
 * BlobStore contract against every adapter:
 * - fs: `createFsStore` on a temp directory;
 * - s3: `createS3Store` over real HTTP to s3rver. s3rver ignores `If-None-Match`, so requests go through
 *   a conformance double (test/aws/conditional-s3-proxy.ts) that answers conditional PutObject /
 *   CompleteMultipartUpload with S3's 412 semantics; everything else is s3rver's own behaviour
 *   (1000-key listing pages, multipart uploads, NoSuchKey).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createS3Store } from '../../shared/adapters/s3-store.js';
import { AlreadyExistsError, NotFoundError, PermanentError, TransientError } from '../../shared/core/errors.js';
import { startConditionalS3Proxy } from '../aws/conditional-s3-proxy.js';
import { FAKE_AWS, startS3Emulator } from '../aws/emulators.js';
import { blobStoreContract } from './blob-store.contract.js';

blobStoreContract([
  {
    name: 'fs',
    async setup() {
      const root = mkdtempSync(join(tmpdir(), 'voxpipe-fs-store-'));
      let n = 0;
      return {
        make: async () => createFsStore(join(root, String(n++))),
        teardown: async () => rmSync(root, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 's3 (s3rver + conditional-write double)',
    async setup() {
      const s3rver = await startS3Emulator([]);
      const proxy = await startConditionalS3Proxy(s3rver.endpoint);
      const client = new S3Client({
        ...FAKE_AWS,
        endpoint: proxy.endpoint,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      let n = 0;
      return {
        async make() {
          const bucket = `contract-${n++}`;
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          return createS3Store({ client, bucket, partSizeBytes: 8 * 1024 * 1024 });
        },
        async teardown() {
          client.destroy();
          await proxy.close();
          await s3rver.close();
        },
      };
    },
  },
]);

/** A stand-in S3Client whose `send` answers from a script (errors shaped like SDK v3 service errors). */
function failingClient(errors: unknown[]): { client: S3Client; calls: () => number } {
  let calls = 0;
  const client = {
    async send() {
      const err = errors[Math.min(calls, errors.length - 1)];
      calls += 1;
      if (err) throw err;
      return {};
    },
  } as unknown as S3Client;
  return { client, calls: () => calls };
}

const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('s3 adapter error translation', () => {
  it('retries a 409 ConditionalRequestConflict, then reports the 412 it resolves to as AlreadyExistsError', async () => {
    const { client, calls } = failingClient([sdkError('ConditionalRequestConflict', 409), sdkError('PreconditionFailed', 412)]);
    const store = createS3Store({ client, bucket: 'b' });
    await expect(store.put('jobs/x/aggregate.claim', 'x', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(calls()).toBe(2);
  });

  it('turns throttling into a rate-limited TransientError and 5xx into a TransientError', async () => {
    const slow = createS3Store({ client: failingClient([sdkError('SlowDown', 503)]).client, bucket: 'b' });
    const err = await slow.get('k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).rateLimited).toBe(true);
    const broken = createS3Store({ client: failingClient([sdkError('InternalError', 500)]).client, bucket: 'b' });
    await expect(broken.put('k', 'x')).rejects.toBeInstanceOf(TransientError);
  });

  it('turns access denied into a PermanentError naming the key, and NoSuchKey into NotFoundError', async () => {
    const denied = createS3Store({ client: failingClient([sdkError('AccessDenied', 403)]).client, bucket: 'b' });
    await expect(denied.get('jobs/j/manifest.json')).rejects.toThrow(PermanentError);
    await expect(denied.get('jobs/j/manifest.json')).rejects.toThrow(/jobs\/j\/manifest\.json/);
    const missing = createS3Store({ client: failingClient([sdkError('NoSuchKey', 404)]).client, bucket: 'b' });
    await expect(missing.get('k')).rejects.toBeInstanceOf(NotFoundError);
    expect(await createS3Store({ client: failingClient([sdkError('NotFound', 404)]).client, bucket: 'b' }).exists('k')).toBe(false);
  });
});
