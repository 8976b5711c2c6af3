import { errorMessage, PermanentError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import { planChunks } from '../core/plan.js';
import { MIN_PAUSE_SECONDS, planOptionsFor } from '../core/plan-options.js';
import type { ChunkTask, JobManifest, JobOptions } from '../core/types.js';
import type { AudioTools, BlobStore, Logger, Notifier, TranscriberCapabilities, WorkQueue } from '../ports.js';
import { failJob } from './fail.js';
import { finishIfComplete } from './fan-in.js';
import { readJson, writeJson, writeStatus } from './store-json.js';

/** One input to split. The runtime has already put the source on local disk (Lambda: ephemeral storage). */
export interface SplitRequest {
  readonly jobId: string;
  /** Human-facing origin, e.g. `talk.mp3` or `s3://bucket/inbox/talk.mp3`. */
  readonly source: string;
  /** Base name for result files. */
  readonly name: string;
  readonly localPath: string;
  readonly options: JobOptions;
}

export interface SplitDeps {
  readonly store: BlobStore;
  readonly audio: AudioTools;
  readonly queue: WorkQueue<ChunkTask>;
  readonly capabilities: TranscriberCapabilities;
  /** Scratch directory for the decoded working copy. */
  readonly workDir: string;
  readonly logger: Logger;
  readonly notifier: Notifier;
  /** Called once when every chunk has a result (here: when there was nothing to transcribe). */
  readonly onJobReady: (jobId: string) => Promise<void>;
  /** dB level below which audio counts as a pause. @default -35 */
  readonly noiseDb?: number;
}

/**
 * Split stage: probe, find pauses, plan chunks, encode them, store them, enqueue one task per chunk.
 * Re-running a job whose manifest and chunk audio exist re-enqueues only chunks without a result (resume).
 * Bad input (0-byte, corrupt, not audio) ends the job as failed with a reason; returns undefined then.
 */
export async function splitJob(req: SplitRequest, deps: SplitDeps): Promise<JobManifest | undefined> {
  const keys = jobKeys(req.jobId);
  const existing = await resumable(req.jobId, deps.store);
  if (existing) return resume(existing, deps);

  try {
    const manifest = await splitFresh(req, deps);
    await enqueuePending(manifest, deps);
    return manifest;
  } catch (err) {
    if (!(err instanceof PermanentError)) throw err;
    deps.logger.warn('input rejected', { jobId: req.jobId, source: req.source, reason: err.message });
    await failJob({ jobId: req.jobId, source: req.source, reason: errorMessage(err), options: req.options }, deps);
    await deps.store.delete(keys.manifest);
    return undefined;
  }
}

async function splitFresh(req: SplitRequest, deps: SplitDeps): Promise<JobManifest> {
  const keys = jobKeys(req.jobId);
  await writeStatus(deps.store, { jobId: req.jobId, source: req.source, state: 'splitting' });
  const probe = await deps.audio.probe(req.localPath);
  const { pauses, workPath } = await deps.audio.analyze(req.localPath, {
    workDir: deps.workDir,
    noiseDb: deps.noiseDb ?? -35,
    minSilenceSeconds: MIN_PAUSE_SECONDS,
  });
  const timestamps = usesProviderTimestamps(req.options, deps.capabilities);
  const plan = planChunks(
    probe.durationSeconds,
    pauses,
    planOptionsFor({ ...deps.capabilities, timestamps }, req.options.chunkSeconds),
  );
  const pending = plan.chunks.filter((c) => !c.silent).map((c) => c.index);

  for (const index of pending) {
    const chunk = plan.chunks[index];
    if (!chunk) continue;
    const flac = await deps.audio.encodeChunk(workPath, chunk.start, chunk.end);
    if (flac.byteLength > deps.capabilities.maxUploadBytes) {
      throw new PermanentError(
        `${req.source}: chunk ${index} is ${flac.byteLength} bytes, over the provider's ${deps.capabilities.maxUploadBytes}-byte limit; lower VOXPIPE_CHUNK_SECONDS`,
      );
    }
    await deps.store.put(keys.chunkAudio(index), flac, { contentType: 'audio/flac' });
  }

  const manifest: JobManifest = {
    jobId: req.jobId,
    source: req.source,
    name: req.name,
    createdAt: new Date().toISOString(),
    options: req.options,
    probe,
    plan,
    pending,
    timestamps: timestamps ? 'provider' : 'cut-plan',
  };
  await writeJson(deps.store, keys.manifest, manifest);
  deps.logger.info('split done', {
    jobId: req.jobId,
    durationSeconds: probe.durationSeconds,
    chunks: plan.chunks.length,
    pending: pending.length,
  });
  return manifest;
}

async function resumable(jobId: string, store: BlobStore): Promise<JobManifest | undefined> {
  const keys = jobKeys(jobId);
  if (!(await store.exists(keys.manifest))) return undefined;
  const manifest = await readJson<JobManifest>(store, keys.manifest);
  for (const index of manifest.pending) {
    if (!(await store.exists(keys.chunkAudio(index))) && !(await store.exists(keys.chunkResult(index)))) return undefined;
  }
  return manifest;
}

async function resume(manifest: JobManifest, deps: SplitDeps): Promise<JobManifest> {
  deps.logger.info('resuming job', { jobId: manifest.jobId });
  // A finished job re-run produces its results again; a claim from an earlier run must not block that.
  await deps.store.delete(jobKeys(manifest.jobId).claim);
  await enqueuePending(manifest, deps);
  return manifest;
}

async function enqueuePending(manifest: JobManifest, deps: SplitDeps): Promise<void> {
  const keys = jobKeys(manifest.jobId);
  const tasks: ChunkTask[] = [];
  for (const index of manifest.pending) {
    if (await deps.store.exists(keys.chunkResult(index))) continue;
    const chunk = manifest.plan.chunks[index];
    if (!chunk) continue;
    tasks.push({
      jobId: manifest.jobId,
      index,
      start: chunk.start,
      end: chunk.end,
      audioKey: keys.chunkAudio(index),
      language: manifest.options.language,
      words: manifest.options.words,
      diarize: manifest.options.diarize,
    });
  }
  await writeStatus(deps.store, {
    jobId: manifest.jobId,
    source: manifest.source,
    state: 'transcribing',
    chunksTotal: manifest.pending.length,
    chunksDone: manifest.pending.length - tasks.length,
  });
  if (tasks.length === 0) {
    await finishIfComplete(manifest.jobId, deps);
    return;
  }
  await deps.queue.send(tasks);
}

/** Whether this job trusts provider timestamps or times text from short cut-plan chunks. */
function usesProviderTimestamps(options: JobOptions, capabilities: TranscriberCapabilities): boolean {
  if (options.timestamps === 'cut-plan') return false;
  if (options.timestamps === 'provider') return true;
  return capabilities.timestamps;
}
