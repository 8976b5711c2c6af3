/**
 * The S3 side of `voxpipe backfill`, imported only for an s3:// source: the AWS SDK stays out of the CLI's
 * start (`voxpipe --help` does not load it).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createS3CopyRunner } from '../shared/adapters/backfill-s3-runner.js';
import { createS3Source } from '../shared/adapters/backfill-s3-source.js';
import { createS3Store } from '../shared/adapters/s3-store.js';
import type { BackfillSource, JobRunner } from '../shared/backfill/ports.js';
import { uploadJobId } from '../shared/core/upload-job-id.js';

/**
 * S3 client from the usual AWS environment (the SDK reads its own variables); a custom endpoint
 * (`AWS_ENDPOINT_URL[_S3]`, e.g. MinIO, passed in from `backfillEnvOf`) gets path-style URLs.
 */
function s3Client(customEndpoint: string | undefined): S3Client {
  return new S3Client({ forcePathStyle: customEndpoint !== undefined, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** The objects under `s3://bucket/prefix`. */
export function s3Source(bucket: string, prefix: string, customEndpoint: string | undefined): BackfillSource {
  return createS3Source(s3Client(customEndpoint), bucket, prefix);
}

/** Copies each object into the deployed pipeline's ingest bucket and follows its job (same job id as the splitter's). */
export function s3Runner(opts: { readonly bucket: string; readonly profile?: string; readonly pollMs: number; readonly customEndpoint?: string }): JobRunner {
  const client = s3Client(opts.customEndpoint);
  return createS3CopyRunner({
    client,
    bucket: opts.bucket,
    store: createS3Store({ client, bucket: opts.bucket }),
    profile: opts.profile,
    jobIdOf: uploadJobId,
    pollMs: opts.pollMs,
  });
}
