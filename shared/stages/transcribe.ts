import { errorMessage, PermanentError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import { describeFindings, type GuardChunk, inspectTranscript, severity, speechWithin, wordsOf } from '../core/content-guard.js';
import type { ChunkResult, ChunkTask, ChunkTranscript } from '../core/types.js';
import type { BlobStore, CallPolicy, Logger, Notifier, Transcriber } from '../ports.js';
import { finishIfComplete } from './fan-in.js';
import { readJson, writeJson } from './store-json.js';

export interface TranscribeDeps {
  readonly store: BlobStore;
  readonly transcriber: Transcriber;
  readonly policy: CallPolicy;
  readonly logger: Logger;
  readonly notifier: Notifier;
  /** Called exactly once per job, by whichever chunk completes it (see fan-in.ts). */
  readonly onJobReady: (jobId: string) => Promise<void>;
  /** `off` stores the first answer unchecked (benchmarks measure the guard against it). @default 'retry' */
  readonly guard?: 'retry' | 'off';
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
  const result = await callProvider(task, audio, label, { ...deps, baselineRate: () => jobRate(task, deps.store) });
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
  deps: Pick<TranscribeDeps, 'transcriber' | 'policy' | 'guard'> & {
    /** Median words per second of speech of the job's stored chunks (the text-only early-stop check). */
    readonly baselineRate?: () => Promise<number | undefined>;
  },
  speechTask?: 'translate',
): Promise<ChunkResult> {
  const { transcriber } = deps;
  const call = (temperature?: number) =>
    deps.policy.run(label, (signal) =>
      transcriber.transcribe(
        {
          audio,
          durationSeconds: task.end - task.start,
          language: task.language,
          words: task.words,
          diarize: task.diarize,
          ...(task.vocabulary?.length ? { vocabulary: task.vocabulary } : {}),
          ...(speechTask ? { task: speechTask } : {}),
          ...(temperature !== undefined ? { temperature } : {}),
          label,
        },
        signal,
      ),
    );
  try {
    const { value, attempts } = await call();
    const speechSeconds = Math.round(speechWithin(task.speech ?? [{ start: task.start, end: task.end }], task.start, task.end) * 1000) / 1000;
    if (deps.guard === 'off' || speechTask) return { status: 'ok', jobId: task.jobId, index: task.index, attempts, transcript: value, speechSeconds };
    const textOnly = !((value.segments?.length ?? 0) > 0 || (value.words?.length ?? 0) > 0);
    const baselineRate = textOnly && speechSeconds >= 8 ? await deps.baselineRate?.().catch(() => undefined) : undefined;
    const guarded = await guard(task, value, attempts, () => call(RETRY_TEMPERATURE), baselineRate);
    return { status: 'ok', jobId: task.jobId, index: task.index, attempts: guarded.attempts, transcript: guarded.transcript, speechSeconds };
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

/** Temperature of the second call of a suspect chunk: enough to leave a loop the greedy decoder fell into. */
export const RETRY_TEMPERATURE = 0.4;

/**
 * The content guard after a provider call, before the result is stored: a transcript that loops, stops early or
 * puts text over silence is sent once more (another attempt, at `RETRY_TEMPERATURE`). The better of the two is
 * kept; when it is still suspect, it carries `suspect` (its reasons) and a warning. A failing second call keeps
 * the first answer: a usable transcript is never thrown away for a check.
 */
async function guard(
  task: ChunkTask,
  first: ChunkTranscript,
  attempts: number,
  again: () => Promise<{ value: ChunkTranscript; attempts: number }>,
  baselineRate: number | undefined,
): Promise<{ transcript: ChunkTranscript; attempts: number }> {
  const chunk = { ...guardChunk(task, first), baselineRate };
  const findings = inspectTranscript(first, chunk);
  if (findings.length === 0) return { transcript: first, attempts };
  let second: { value: ChunkTranscript; attempts: number } | undefined;
  let secondError: string | undefined;
  let secondAttempts = 0;
  try {
    second = await again();
    secondAttempts = second.attempts;
  } catch (err) {
    secondError = errorMessage(err);
    secondAttempts = err instanceof Error ? attemptsOf(err) : 1;
  }
  const total = attempts + secondAttempts;
  const retried = second ? inspectTranscript(second.value, { ...guardChunk(task, second.value), baselineRate }) : undefined;
  if (second && retried?.length === 0) return { transcript: second.value, attempts: total };
  // Both suspect (or the second call failed): keep the less bad one, flagged.
  // Equal severity (two early stops, two loops): the answer with more distinct words heard more of the chunk.
  const distinct = (t: ChunkTranscript) => new Set(wordsOf(t.text)).size;
  const useSecond =
    second !== undefined &&
    retried !== undefined &&
    (severity(retried) < severity(findings) || (severity(retried) === severity(findings) && distinct(second.value) >= distinct(first)));
  const kept = useSecond && second ? second.value : first;
  const keptFindings = useSecond && retried ? retried : findings;
  const why = describeFindings(keptFindings);
  const warning = `suspect output kept after ${second ? 'a second call' : `a failed second call (${secondError})`}: ${why}`;
  return {
    transcript: { ...kept, suspect: keptFindings.map((f) => `${f.kind}: ${f.detail}`), warnings: [...(kept.warnings ?? []), warning] },
    attempts: total,
  };
}

/** The chunk as the guard sees it; a task without speech stretches (an older message) counts as all speech. */
function guardChunk(task: ChunkTask, t: ChunkTranscript): GuardChunk {
  const timed = (t.segments?.length ?? 0) > 0 || (t.words?.length ?? 0) > 0;
  return { start: task.start, end: task.end, speech: task.speech ?? [{ start: task.start, end: task.end }], timed };
}

/** Stored results read for the job's words-per-second baseline: a bounded sample, not the whole job. */
const BASELINE_SAMPLE = 12;

/** Median words per second of speech over a sample of the job's stored, unflagged chunk results (≥ 2 needed). */
async function jobRate(task: ChunkTask, store: BlobStore): Promise<number | undefined> {
  const keys: string[] = [];
  for await (const key of store.list(jobKeys(task.jobId).chunksPrefix)) {
    keys.push(key);
    if (keys.length >= BASELINE_SAMPLE) break;
  }
  const rates: number[] = [];
  for (const key of keys) {
    const r = await readJson<ChunkResult>(store, key).catch(() => undefined);
    if (r?.status !== 'ok' || r.transcript.suspect?.length || !r.speechSeconds || r.speechSeconds < 8) continue;
    rates.push(wordsOf(r.transcript.text).length / r.speechSeconds);
  }
  if (rates.length < 2) return undefined;
  rates.sort((a, b) => a - b);
  return rates[Math.floor((rates.length - 1) / 2)];
}

function attemptsOf(err: Error): number {
  const attempts = (err as { attempts?: unknown }).attempts;
  return typeof attempts === 'number' ? attempts : 1;
}
