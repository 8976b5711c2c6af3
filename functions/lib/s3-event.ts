import { createHash } from 'node:crypto';
import { z } from 'zod';
import { uploadKeyJobId } from '../../shared/api/records.js';

const S3Record = z.object({
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
    }),
  }),
});

/** The body of an S3 → SQS notification: records, or the one-off `s3:TestEvent` sent when it is configured. */
const S3Notification = z.union([
  z.object({ Records: z.array(S3Record) }),
  z.object({ Event: z.literal('s3:TestEvent') }).transform(() => ({ Records: [] })),
]);

/**
 * A job the job API starts directly (an `{ s3Key }` source, or a retry): the object and the API's job id.
 * Sent to the split queue by `functions/api.ts`; the splitter treats it like a notification of that object.
 */
export const StartJobMessage = z.object({
  startJob: z.object({ bucket: z.string().min(1), key: z.string().min(1), jobId: z.string().regex(/^[a-z0-9][a-z0-9-]{7,63}$/) }),
});
export type StartJobMessage = z.infer<typeof StartJobMessage>;

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

/** Uploads in an S3 notification body (created-object events only). Throws on any other shape. */
export function uploadsOf(body: unknown): Upload[] {
  const start = StartJobMessage.safeParse(body);
  if (start.success) return [{ ...start.data.startJob, version: '' }];
  return S3Notification.parse(body)
    .Records.filter((r) => r.eventName.startsWith('ObjectCreated:'))
    .map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeS3Key(r.s3.object.key),
      version: r.s3.object.versionId ?? r.s3.object.eTag ?? '',
      size: r.s3.object.size,
    }))
    .map((u) => {
      const jobId = uploadKeyJobId(u.key);
      return jobId ? { ...u, jobId } : u;
    });
}

/** S3 event keys are URL-encoded with `+` for spaces (form encoding): `my+talk%C3%A9.mp3` → `my talké.mp3`. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
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
