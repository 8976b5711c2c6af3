import { basename, dirname, extname, join } from 'node:path';
import type { JobRunner } from '../shared/backfill/ports.js';
import type { ResultExt } from '../shared/core/keys.js';
import type { createLocalPipeline } from './local-pipeline.js';

/**
 * `JobRunner` on the embedded pipeline: each file is one local job, results are written under `outDir` at the
 * file's relative path (`2019/talk.mp3` → `<outDir>/2019/talk.json`, …).
 *
 * A job a killed run left in flight is simply run again: the local job id is the file's content hash plus the
 * options, so the pipeline resumes it and chunks already transcribed are not sent again.
 */
export function createLocalRunner(pipeline: ReturnType<typeof createLocalPipeline>, outDir: string, formats: readonly ResultExt[]): JobRunner {
  return {
    async run(file) {
      const name = basename(file.id, extname(file.id)) || basename(file.id);
      const result = await pipeline.transcribe(file.location, name, { words: false, diarize: false, force: false });
      await pipeline.writeResults(result, join(outDir, dirname(file.id)), name, formats);
      const t = result.transcript;
      return {
        status: t.status,
        jobId: result.jobId,
        durationSeconds: t.durationSeconds,
        costUsd: t.usage.costUsd,
        error: t.status === 'failed' ? `${file.location}: ${t.error ?? 'failed'}` : undefined,
      };
    },
  };
}
