/**
 * The drop folder's dedup rule, one for both runtimes: a drop's job id is derived from its profile, its content
 * id (the file's SHA-256; on S3 `x-amz-meta-voxpipe-sha256`, else the ETag) and its resolved options, plus a
 * nonce for a forced run or a rerun after a failed job (`shared/stages/admit-drop.ts`).
 */
import { createHash } from 'node:crypto';
import type { JobOptions } from './types.js';

/** Job id of a drop: content, profile and options, plus a nonce for a forced run or a rerun. */
export function dropJobId(profile: string, contentId: string, options: JobOptions, nonce?: string): string {
  return createHash('sha256')
    .update(`drop\n${profile}\n${contentId}\n${JSON.stringify(options)}\n${nonce ?? ''}`)
    .digest('hex')
    .slice(0, 20);
}

/** Short stable name for a drop source inside a key (`jobs/<id>/waiting/<name>.json`). */
export function sourceDigest(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}
