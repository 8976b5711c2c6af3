import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';

/** CopyObject copies at most 5 GB (GiB) in one call; larger objects need a multipart copy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** UploadPartCopy limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10 000 parts. */
const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PART_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;
/** The largest object S3 stores. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** Default part size: a 10 GB object is 20 parts, each a server-side copy of a few seconds. */
export const DEFAULT_COPY_PART_BYTES = 512 * 1024 ** 2;

/** One part of a multipart copy: an inclusive byte range of the source. */
export interface CopyPart {
  readonly partNumber: number;
  readonly first: number;
  readonly last: number;
}

/**
 * Byte ranges for a multipart copy of `size` bytes: parts of `partBytes` (raised so there are at most 10 000,
 * clamped to 5 MiB – 5 GiB), numbered from 1, covering every byte once; the last part takes the rest.
 */
export function planCopyParts(size: number, partBytes = DEFAULT_COPY_PART_BYTES): CopyPart[] {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`cannot plan a multipart copy of ${size} bytes`);
  if (size > MAX_OBJECT_BYTES) throw new RangeError(`${size} bytes is over S3's 5 TiB object limit`);
  const part = Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, partBytes, Math.ceil(size / MAX_PARTS)));
  const parts: CopyPart[] = [];
  for (let first = 0; first < size; first += part) parts.push({ partNumber: parts.length + 1, first, last: Math.min(size, first + part) - 1 });
  return parts;
}

export interface CopyOptions {
  /** Objects above this many bytes are copied part by part. @default MAX_SINGLE_COPY_BYTES */
  readonly multipartThresholdBytes?: number;
  /** @default DEFAULT_COPY_PART_BYTES */
  readonly partBytes?: number;
  /** Parts copied at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * Server-side copy of `srcBucket/srcKey` to `bucket/key` with the source's metadata and content type, of any
 * size: one CopyObject up to the threshold, above it CreateMultipartUpload + UploadPartCopy per range (each
 * guarded by the source's ETag, so a source replaced mid-copy fails the copy instead of mixing versions) +
 * CompleteMultipartUpload; a failed multipart copy is aborted, so no parts are left billed. SDK errors pass
 * through untranslated (callers translate them with their own context).
 */
export async function copyS3Object(
  client: S3Client,
  src: { readonly bucket: string; readonly key: string },
  dst: { readonly bucket: string; readonly key: string },
  opts: CopyOptions = {},
): Promise<void> {
  const copySource = `${src.bucket}/${src.key.split('/').map(encodeURIComponent).join('/')}`;
  const head = await client.send(new HeadObjectCommand({ Bucket: src.bucket, Key: src.key }));
  const size = head.ContentLength ?? 0;
  if (size <= (opts.multipartThresholdBytes ?? MAX_SINGLE_COPY_BYTES)) {
    await client.send(new CopyObjectCommand({ Bucket: dst.bucket, Key: dst.key, CopySource: copySource, MetadataDirective: 'COPY' }));
    return;
  }
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: dst.bucket, Key: dst.key, ContentType: head.ContentType, Metadata: head.Metadata }),
  );
  try {
    const limit = pLimit(opts.concurrency ?? 8);
    const parts = await Promise.all(
      planCopyParts(size, opts.partBytes).map((p) =>
        limit(async () => {
          const res = await client.send(
            new UploadPartCopyCommand({
              Bucket: dst.bucket,
              Key: dst.key,
              UploadId,
              PartNumber: p.partNumber,
              CopySource: copySource,
              CopySourceRange: `bytes=${p.first}-${p.last}`,
              ...(head.ETag ? { CopySourceIfMatch: head.ETag } : {}),
            }),
          );
          return { PartNumber: p.partNumber, ETag: res.CopyPartResult?.ETag };
        }),
      ),
    );
    await client.send(new CompleteMultipartUploadCommand({ Bucket: dst.bucket, Key: dst.key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: dst.bucket, Key: dst.key, UploadId })).catch(() => undefined);
    throw err;
  }
}
