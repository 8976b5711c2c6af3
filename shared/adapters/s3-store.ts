import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AlreadyExistsError, NotFoundError } from '../core/errors.js';
import type { BlobStore, PutOptions } from '../ports.js';
import { errorNameOf, httpStatusOf, translateAwsError } from './aws-errors.js';

/** Options of `createS3Store`. */
export interface S3StoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Part size of streamed uploads (`putFile`). @default 16 MiB */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once by `putFile`. @default 4 */
  readonly queueSize?: number;
}

/** Tries of a conditional write that S3 answers with 409 ConditionalRequestConflict. */
const CONFLICT_RETRIES = 4;

/**
 * BlobStore on one S3 bucket.
 *
 * - `ifNoneMatch: '*'` is S3's conditional write (`If-None-Match: *`, PutObject and
 *   CompleteMultipartUpload): 412 PreconditionFailed → `AlreadyExistsError`. S3 answers 409
 *   ConditionalRequestConflict while a concurrent conditional write to the key is in flight and asks
 *   for a retry; the retry then resolves to 412 (the other writer won) or 200, so it is retried here
 *   rather than reported as "exists" (which could leave the key with no winner if the other write failed).
 * - S3 is strongly read-after-write consistent (list included), which the fan-in proof relies on.
 * - `list` pages with continuation tokens; S3 returns keys in UTF-8 byte order, which equals
 *   lexicographic order for the ASCII keys of the store layout.
 * - Errors: NoSuchKey/404 → `NotFoundError`; throttling, 5xx, network → `TransientError`; the rest → `PermanentError`.
 * - S3 answers a read of a missing key with 403, not 404, to a caller whose `s3:ListBucket` is limited by
 *   `s3:prefix` (the stack's functions: infra/constructs/bucket-access.ts). A 403 on a read is therefore checked
 *   with a one-key listing of the key: absent → `NotFoundError`; present (or the listing denied too) → the 403.
 */
export function createS3Store(opts: S3StoreOptions): BlobStore {
  const { client, bucket } = opts;

  async function conditional<T>(key: string, write: () => Promise<T>, what: string): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await write();
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 412 || errorNameOf(err) === 'PreconditionFailed') throw new AlreadyExistsError(key, { cause: err });
        if (status === 409 && attempt < CONFLICT_RETRIES) {
          await sleep(50 * 2 ** attempt);
          continue;
        }
        throw notFoundOr(err, key, what);
      }
    }
  }

  /** True when a 403 on reading `key` hides a missing key (see above). */
  async function deniedBecauseMissing(err: unknown, key: string): Promise<boolean> {
    if (httpStatusOf(err) !== 403) return false;
    try {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
      return page.Contents?.[0]?.Key !== key;
    } catch {
      return false;
    }
  }

  /** `notFoundOr`, with a 403 that hides a missing key read as not found. */
  async function readError(err: unknown, key: string, what: string): Promise<Error> {
    if (await deniedBecauseMissing(err, key)) return new NotFoundError(key, { cause: err });
    return notFoundOr(err, key, what);
  }

  return {
    async get(key) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!res.Body) return new Uint8Array();
        return await res.Body.transformToByteArray();
      } catch (err) {
        throw await readError(err, key, `s3 get ${key}`);
      }
    },

    async put(key, body, putOpts) {
      await conditional(
        key,
        () =>
          client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
              ContentType: putOpts?.contentType,
              IfNoneMatch: putOpts?.ifNoneMatch,
            }),
          ),
        `s3 put ${key}`,
      );
    },

    async putFile(key, path, putOpts?: PutOptions) {
      await conditional(
        key,
        () =>
          new Upload({
            client,
            partSize: opts.partSizeBytes ?? 16 * 1024 * 1024,
            queueSize: opts.queueSize ?? 4,
            leavePartsOnError: false,
            params: {
              Bucket: bucket,
              Key: key,
              Body: createReadStream(path),
              ContentType: putOpts?.contentType,
              IfNoneMatch: putOpts?.ifNoneMatch,
            },
          }).done(),
        `s3 putFile ${key}`,
      );
    },

    async getFile(key, path) {
      let body: Readable;
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        body = res.Body as Readable;
      } catch (err) {
        throw await readError(err, key, `s3 getFile ${key}`);
      }
      await mkdir(dirname(path), { recursive: true });
      try {
        await pipeline(body, createWriteStream(path));
      } catch (err) {
        throw translateAwsError(err, `s3 getFile ${key}: download interrupted`);
      }
    },

    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (err) {
        if (isNotFound(err) || (await deniedBecauseMissing(err, key))) return false;
        throw translateAwsError(err, `s3 head ${key}`);
      }
    },

    async *list(prefix) {
      let token: string | undefined;
      do {
        let page: ListObjectsV2CommandOutput;
        try {
          page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        } catch (err) {
          throw translateAwsError(err, `s3 list ${prefix}`);
        }
        for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (isNotFound(err)) return;
        throw translateAwsError(err, `s3 delete ${key}`);
      }
    },
  };
}

function isNotFound(err: unknown): boolean {
  const name = errorNameOf(err);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404;
}

function notFoundOr(err: unknown, key: string, what: string): Error {
  return isNotFound(err) ? new NotFoundError(key, { cause: err }) : translateAwsError(err, what);
}
