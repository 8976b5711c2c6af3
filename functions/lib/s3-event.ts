import { z } from 'zod';
import { uploadKeyJobId } from '../../shared/api/records.js';
import type { Upload } from '../../shared/core/upload-job-id.js';

export { type Upload, uploadJobId } from '../../shared/core/upload-job-id.js';

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
