/**
 * The job API's request schemas: every request is parsed here once, at the edge (see api/openapi.yaml,
 * which describes the same shapes for clients).
 */
import { z } from 'zod';

/** States a client sees: the pipeline's, plus the two before the splitter has written a status. */
export const API_JOB_STATES = ['awaiting_upload', 'queued', 'splitting', 'transcribing', 'aggregating', 'completed', 'failed'] as const;
export type ApiJobState = (typeof API_JOB_STATES)[number];

/** Job ids the API hands out (and the pipeline uses): 20 lowercase hex characters, or any id of the pipeline's alphabet. */
export const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{7,63}$/;

const FileName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/\\\0]+$/, 'a file name without "/" or "\\"')
  .refine((s) => s !== '.' && s !== '..', 'a file name, not "." or ".."')
  // File systems (and so the local store and every download) allow 255 bytes per name, not 255 characters.
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 255, 'a file name of at most 255 bytes (UTF-8)')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'a file name without control characters');

/** `{ s3Key }` or `{ upload: true, fileName? }`, written as one object so errors name the field. */
const Source = z
  .object({
    s3Key: z.string().min(1).max(1024).optional(),
    upload: z.literal(true).optional(),
    fileName: FileName.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.s3Key === undefined) === (s.upload === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "s3Key" or "upload": true' });
    }
    if (s.s3Key !== undefined && s.fileName !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['fileName'], message: '"fileName" goes with "upload": true only' });
    }
  });

/** Per-job choices; provider and model are the deployment's. */
export const JobOptionsInput = z
  .object({
    language: z.string().regex(/^[a-z]{2}$/, 'an ISO 639-1 code such as "en"').optional(),
    chunkSeconds: z.number().min(10).max(3600).optional(),
    words: z.boolean().optional(),
    diarize: z.boolean().optional(),
    timestamps: z.enum(['auto', 'provider', 'cut-plan']).optional(),
    /**
     * Words and phrases to bias recognition towards (Mistral `context_bias`; providers without such a field ignore
     * it). Replaces the deployment's default vocabulary for this job. Same limits as a profile's `vocabulary`.
     */
    vocabulary: z
      .array(z.string().trim().min(1, 'a non-empty term').max(200))
      .min(1)
      .max(100, 'at most 100 terms (Mistral takes 100)')
      .optional(),
  })
  .strict();

/** Body of `POST /jobs`. */
export const CreateJobBody = z
  .object({
    source: Source,
    options: JobOptionsInput.default({}),
    webhook: z.object({ url: z.url({ protocol: /^https?$/ }) }).strict().optional(),
  })
  .strict();
export type CreateJobBody = z.output<typeof CreateJobBody>;

/** Query of `GET /jobs`. */
export const ListJobsQuery = z
  .object({
    status: z.enum(API_JOB_STATES).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** `nextCursor` of the previous page. */
    cursor: z.string().regex(/^\d{13}-[a-z0-9][a-z0-9-]{7,63}$/, 'a nextCursor from an earlier page').optional(),
  })
  .strict();

/** The first issue of a failed parse as `{ field, message }`, the field as a dotted path (`source.s3Key`). */
export function firstIssue(error: z.ZodError, root?: string): { field: string; message: string } {
  const issue = error.issues[0];
  const path = [root, ...(issue?.path ?? []).map(String)].filter(Boolean);
  // An unknown key names itself: `options.colour`, not `options`.
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const field = [...path, ...(keys.length ? [keys[0]] : [])].join('.') || (root ?? 'body');
  return { field, message: issue?.message ?? 'invalid' };
}
