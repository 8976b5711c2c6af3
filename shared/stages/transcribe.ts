import { PermanentError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import type { ChunkResult, ChunkTask } from '../core/types.js';
import type { BlobStore, CallPolicy, Logger, Notifier, Transcriber } from '../ports.js';
import { finishIfComplete } from './fan-in.js';
import { writeJson } from './store-json.js';

export interface TranscribeDeps {
  readonly store: BlobStore;
  readonly transcriber: Transcriber;
  readonly policy: CallPolicy;
  readonly logger: Logger;
  readonly notifier: Notifier;
  /** Called exactly once per job, by whichever chunk completes it (see fan-in.ts). */
  readonly onJobReady: (jobId: string) => Promise<void>;
}

/**
 * Transcriber stage: one model call per chunk, result stored under the chunk's own key.
 * Idempotent: a chunk that already has a result is not sent again (resume, redelivery).
 * A permanent provider error is stored as a failed chunk result (the job then fails with the reason);
 * a transient error that outlasts the retries is thrown, so the queue delivers the message again.
 */
export async function transcribeChunk(task: ChunkTask, deps: TranscribeDeps): Promise<'done' | 'skipped'> {
  const keys = jobKeys(task.jobId);
  if (await deps.store.exists(keys.chunkResult(task))) {
    // A redelivery: the earlier delivery may have died after storing the result (or after winning the fan-in).
    await finishIfComplete(task.jobId, { store: deps.store, onJobReady: deps.onJobReady, owner: chunkOwner(task) });
    return 'skipped';
  }
  const audio = await deps.store.get(task.audioKey);
  const label = `job ${task.jobId} chunk ${task.index}`;
  const result = await callProvider(task, audio, label, deps);
  await writeJson(deps.store, keys.chunkResult(task), result);
  deps.logger.info('chunk done', { jobId: task.jobId, chunk: task.index, status: result.status, attempts: result.attempts });
  await finishIfComplete(task.jobId, { ...deps, owner: chunkOwner(task) });
  return 'done';
}

/** The fan-in owner of a chunk's work: its deliveries, and its dead letter, may finish a hand-off it claimed. */
export const chunkOwner = (task: { readonly index: number }): string => `chunk ${task.index}`;

/**
 * One chunk through the call policy. A permanent provider error comes back as a failed chunk result;
 * a transient one that outlasts the retries is thrown. Also used for native speech translation (`speechTask`).
 */
export async function callProvider(
  task: ChunkTask,
  audio: Uint8Array,
  label: string,
  deps: Pick<TranscribeDeps, 'transcriber' | 'policy'>,
  speechTask?: 'translate',
): Promise<ChunkResult> {
  const { transcriber } = deps;
  try {
    const { value, attempts } = await deps.policy.run(label, (signal) =>
      transcriber.transcribe(
        {
          audio,
          durationSeconds: task.end - task.start,
          language: task.language,
          words: task.words,
          diarize: task.diarize,
          ...(task.vocabulary?.length ? { vocabulary: task.vocabulary } : {}),
          ...(speechTask ? { task: speechTask } : {}),
          label,
        },
        signal,
      ),
    );
    return { status: 'ok', jobId: task.jobId, index: task.index, attempts, transcript: value };
  } catch (err) {
    if (!(err instanceof PermanentError)) throw err;
    return {
      status: 'failed',
      jobId: task.jobId,
      index: task.index,
      attempts: attemptsOf(err),
      provider: transcriber.provider,
      model: transcriber.model,
      error: err.message,
    };
  }
}

function attemptsOf(err: Error): number {
  const attempts = (err as { attempts?: unknown }).attempts;
  return typeof attempts === 'number' ? attempts : 1;
}
