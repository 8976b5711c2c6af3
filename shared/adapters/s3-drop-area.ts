import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, PermanentError } from '../core/errors.js';
import type { DropArea } from '../ports.js';
import { errorNameOf, httpStatusOf, translateAwsError } from './aws-errors.js';
import { type CopyOptions, copyS3Object } from './s3-copy.js';
import { createS3Store } from './s3-store.js';

/**
 * The drop folder in one bucket: `move` is CopyObject + DeleteObject (S3 has no rename; on a versioned
 * bucket the delete leaves a delete marker and the old version expires with the noncurrent-version rule),
 * `publish` is a copy: CopyObject up to 5 GB, a multipart copy (UploadPartCopy) above (`s3-copy.ts`).
 * Missing sources become `NotFoundError`; other errors are translated as in the S3 BlobStore.
 */
export function createS3DropArea(opts: { readonly client: S3Client; readonly bucket: string; readonly copy?: CopyOptions }): DropArea {
  const { client, bucket } = opts;
  // Plain reads and writes are the BlobStore's: one place translates S3 errors for them.
  const store = createS3Store({ client, bucket });
  const copy = async (from: string, to: string) => {
    try {
      await copyS3Object(client, { bucket, key: from }, { bucket, key: to }, opts.copy);
    } catch (err) {
      throw notFoundOr(err, from, `s3 copy ${from} → ${to}`);
    }
  };
  return {
    async move(from, to) {
      try {
        await copy(from, to);
      } catch (err) {
        // "Not found" must mean the source is gone (an earlier move), never a copy that could not find it.
        if (err instanceof NotFoundError && (await store.exists(from))) {
          throw new PermanentError(`s3 copy ${from} → ${to}: CopyObject could not find a source that exists`, { cause: err });
        }
        throw err;
      }
      await store.delete(from);
    },
    put: (key, body) => store.put(key, body, { contentType: 'application/json' }),
    publish: copy,
  };
}

/** What `HeadObject` tells about a dropped object: its user metadata and content identity. */
export interface DroppedObject {
  /** User metadata, keys lower-cased without `x-amz-meta-`. */
  readonly metadata: Readonly<Record<string, string>>;
  /** ETag without quotes (MD5 of the body for single-part uploads). */
  readonly eTag: string;
}

/** HeadObject of a dropped file; `undefined` when it is gone (already moved by an earlier delivery). */
export async function headDroppedObject(client: S3Client, bucket: string, key: string): Promise<DroppedObject | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const metadata = Object.fromEntries(Object.entries(head.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return { metadata, eTag: (head.ETag ?? '').replace(/"/g, '') };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw translateAwsError(err, `s3 head ${key}`);
  }
}

function isNotFound(err: unknown): boolean {
  const name = errorNameOf(err);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404;
}

function notFoundOr(err: unknown, key: string, what: string): Error {
  return isNotFound(err) ? new NotFoundError(key, { cause: err }) : translateAwsError(err, what);
}
