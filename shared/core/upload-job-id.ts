/**
 * The job id of an S3 upload, shared by both runtimes: the AWS splitter derives it from the notification, and
 * `voxpipe backfill` (CLI) from the object it copies, so both name the same job for the same object.
 */
import { createHash } from 'node:crypto';

/** One uploaded object, key decoded. */
export interface Upload {
  readonly bucket: string;
  /** The object key as stored (decoded from the event's URL encoding). */
  readonly key: string;
  /** Version id when the bucket is versioned, else the ETag: what makes this upload distinct. */
  readonly version: string;
  readonly size?: number;
  /** Set for jobs of the job API (`uploads/<jobId>/…` keys and start-job messages): the id the API handed out. */
  readonly jobId?: string;
}

/**
 * The job of an upload: bucket + key + version id (or ETag when unversioned). A redelivered or duplicated
 * notification of the same object maps to the same job; a new upload to the same key does not.
 * Unlike the CLI's job id, the options are not part of it: on AWS they are fixed per deployment, and the
 * DLQ consumer must derive the id of a dead split message from the notification alone.
 * Jobs of the job API keep the id the API handed out (one upload URL or start message per job).
 */
export function uploadJobId(upload: Upload): string {
  if (upload.jobId) return upload.jobId;
  return createHash('sha256').update(`${upload.bucket}\n${upload.key}\n${upload.version}`).digest('hex').slice(0, 20);
}
