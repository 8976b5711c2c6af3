import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { JobOptions } from '../shared/core/types.js';

/** Bytes sampled at the start, middle and end of a file for its fingerprint. */
const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * A local job's id: a content fingerprint of the input plus the options that change the result.
 * The same file with the same options is the same job, so a re-run resumes it and finished chunks are
 * not sent again; a copy of the file elsewhere is the same job too.
 *
 * Why a fingerprint and not a hash of every byte: the id is needed before the first chunk is stored, and
 * hashing a 5 GB video first would hold back every result by ~10 s. The size plus 4 MB from the start,
 * middle and end tell recordings apart (any edit that changes the length, or the header, or the ends
 * changes the id); a same-length edit deep inside a large file would not. So the fingerprint only picks a
 * candidate: before a stored job is reused, the file's full SHA-256 is compared with the one recorded when
 * the job was split (`verifiedJobId` in local-pipeline.ts), and a mismatch runs `contentJobId` instead.
 */
export async function localJobId(path: string, options: JobOptions): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    hash.update(`size:${size}\n`);
    const starts = size <= 3 * WINDOW_BYTES ? [0] : [0, Math.floor(size / 2 - WINDOW_BYTES / 2), size - WINDOW_BYTES];
    const length = size <= 3 * WINDOW_BYTES ? size : WINDOW_BYTES;
    const buffer = Buffer.alloc(length);
    for (const start of starts) {
      const { bytesRead } = await file.read(buffer, 0, length, start);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.update(JSON.stringify(options)).digest('hex').slice(0, 20);
}

/** True when the fingerprint read every byte (files up to three windows): its id is then exact already. */
export function fingerprintIsWholeFile(size: number): boolean {
  return size <= 3 * WINDOW_BYTES;
}

/** SHA-256 (hex) of every byte of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * The id of a job whose fingerprint id is taken by other content of the same fingerprint: derived from
 * the full content hash, so it is exact (and still stable across re-runs and copies).
 */
export function contentJobId(sha256: string, options: JobOptions): string {
  return createHash('sha256').update(`sha256:${sha256}\n`).update(JSON.stringify(options)).digest('hex').slice(0, 20);
}
