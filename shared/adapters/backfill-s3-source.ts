/** `BackfillSource` over an S3 prefix: ListObjectsV2 pages (any number of keys), media files by extension. */
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { isMediaName } from '../core/backfill-plan.js';
import type { BackfillSource } from '../backfill/ports.js';
import { translateAwsError } from './aws-errors.js';

export { parseS3Url } from '../core/s3-url.js';

/**
 * List `s3://bucket/prefix`. Ids are keys relative to the prefix's folder (`archive/2019/a.mp3` under
 * `archive/` → `2019/a.mp3`). Durations are not probed (that would mean downloading the archive): the
 * orchestrator estimates them from the size.
 */
export function createS3Source(client: S3Client, bucket: string, prefix: string): BackfillSource {
  const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  return {
    description: `s3://${bucket}/${prefix}`,
    async *list() {
      let token: string | undefined;
      do {
        let page: ListObjectsV2CommandOutput;
        try {
          page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        } catch (err) {
          throw translateAwsError(err, `s3 list s3://${bucket}/${prefix}`);
        }
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined || o.Key.endsWith('/') || !isMediaName(o.Key)) continue;
          yield { id: o.Key.slice(folder.length), location: `s3://${bucket}/${o.Key}`, sizeBytes: o.Size ?? 0 };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
  };
}
