import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { JobOptions } from '../shared/core/types.js';

/**
 * A local job's id: content hash of the input plus the options that change the result.
 * The same file with the same options is the same job, so a re-run resumes it and
 * finished chunks are not sent again.
 */
export async function localJobId(path: string, options: JobOptions): Promise<string> {
  const content = createHash('sha256');
  await pipeline(createReadStream(path), content);
  return createHash('sha256')
    .update(content.digest('hex'))
    .update(JSON.stringify(options))
    .digest('hex')
    .slice(0, 20);
}
