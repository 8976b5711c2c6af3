import { AlreadyExistsError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import type { ChunkResult, ChunkTask } from '../core/types.js';
import type { BlobStore } from '../ports.js';
import { finishIfComplete } from './fan-in.js';
import { chunkOwner } from './transcribe.js';
import { writeJson } from './store-json.js';

/**
 * A chunk message that exhausted its deliveries: record it as a failed chunk (unless a result
 * landed meanwhile) and run fan-in, so the job ends as failed with the reason instead of hanging.
 */
export async function recordDeadChunk(
  task: ChunkTask,
  reason: string,
  deps: {
    readonly store: BlobStore;
    readonly onJobReady: (jobId: string) => Promise<void>;
    readonly provider: string;
    readonly model: string;
  },
): Promise<void> {
  const key = jobKeys(task.jobId).chunkResult(task);
  {
    const result: ChunkResult = {
      status: 'failed',
      jobId: task.jobId,
      index: task.index,
      attempts: 0,
      provider: deps.provider,
      model: deps.model,
      error: `chunk ${task.index} gave up after repeated delivery failures: ${reason}`,
    };
    // Conditional: a result that landed meanwhile (a late success) wins over the dead letter.
    await writeJson(deps.store, key, result, { ifNoneMatch: '*' }).catch((err: unknown) => {
      if (!(err instanceof AlreadyExistsError)) throw err;
    });
  }
  await finishIfComplete(task.jobId, { ...deps, owner: chunkOwner(task) });
}
