import { truncationWarning } from '../core/truncation.js';
import { errorMessage, PermanentError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import { planChunks } from '../core/plan.js';
import { certainChunks } from '../core/plan-stream.js';
import { balancedChunkSeconds, MIN_PAUSE_SECONDS, planOptionsFor } from '../core/plan-options.js';
import type { ChunkTask, JobManifest, JobOptions, PlannedChunk } from '../core/types.js';
import type { AudioTools, BlobStore, Logger, Notifier, TranscriberCapabilities, WorkQueue } from '../ports.js';
import { failJob } from './fail.js';
import { finishedChunks, finishIfComplete } from './fan-in.js';
import { readJson, writeJson, writeStatus } from './store-json.js';
import { isoTime, type StageClock, wallClock } from './wall-clock.js';

/** The fan-in owner of the split's own completion check (see fan-in.ts). */
export const SPLIT_OWNER = 'split';

/** Queue messages per send call (the SQS SendMessageBatch maximum). */
const SEND_BATCH = 10;
/** Longest a ready chunk waits to fill a batch. */
const BATCH_WAIT_MS = 100;

/** One input to split: a local path, or an http(s) URL the audio tools read with range requests (Lambda: a presigned S3 GET). */
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
  /**
   * Provider calls in flight at once across the runtime. Chunk lengths are evened out (never lengthened) so
   * the chunks fill whole rounds of calls. Results are keyed by chunk span, so a re-split with another
   * value never mixes plans. @default no balancing
   */
  readonly parallelism?: number;
  /**
   * dB level below which audio counts as a pause (the fixed energy detector). @default 'auto': from the
   * recording's noise floor, in the speech band (see adapters/noise-floor.ts)
   */
  readonly noiseDb?: number | 'auto';
  /** Time of the manifest, the status and the send batching. @default the wall clock */
  readonly clock?: StageClock;
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
    // Chunks finished before the manifest existed could not complete the job (fan-in needs the manifest):
    // check once now. This also completes a job with nothing to transcribe.
    await markTranscribing(manifest, deps);
    await finishIfComplete(manifest.jobId, { ...deps, owner: SPLIT_OWNER });
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
  await writeStatus(deps.store, { jobId: req.jobId, source: req.source, state: 'splitting' }, deps.clock);
  const probe = await deps.audio.probe(req.localPath);
  const timestamps = usesProviderTimestamps(req.options, deps.capabilities);
  const chunkSeconds = balancedChunkSeconds(probe.durationSeconds, req.options.chunkSeconds, deps.parallelism);
  const planOptions = planOptionsFor({ ...deps.capabilities, timestamps }, chunkSeconds, { diarize: req.options.diarize });
  const sender = chunkSender(req, deps);

  // Chunks whose place in the plan is already certain are encoded and sent while decoding goes on,
  // so transcription starts within seconds even for a 10-hour file (see core/plan-stream.ts).
  let replannedAt = -Infinity;
  const { pauses, workPath, durationSeconds: decodedSeconds, pauseFinder } = await deps.audio.analyze(req.localPath, {
    workDir: deps.workDir,
    noiseDb: deps.noiseDb ?? 'auto',
    minSilenceSeconds: MIN_PAUSE_SECONDS,
    onProgress: (frontier, path) => {
      if (frontier.seconds - replannedAt < planOptions.targetSeconds / 4) return;
      replannedAt = frontier.seconds;
      sender.offer(certainChunks(frontier, planOptions), path);
    },
  });
  const plan = planChunks(probe.durationSeconds, pauses, planOptions);
  // A container that declares more audio than could be decoded: a file still being written, a cut-off copy.
  const truncated = truncationWarning(probe.durationSeconds, decodedSeconds);
  const early = sender.offered();
  if (JSON.stringify(early) !== JSON.stringify(plan.chunks.slice(0, early.length))) {
    // Cannot happen while plan-stream's property holds; if it ever does, say so instead of mixing two plans.
    throw new Error(`${req.source}: internal error: chunks sent while decoding differ from the final plan`);
  }
  sender.offer(plan.chunks, workPath);
  await sender.finish();

  const manifest: JobManifest = {
    jobId: req.jobId,
    source: req.source,
    name: req.name,
    createdAt: isoTime(deps.clock),
    options: req.options,
    probe,
    plan,
    pending: plan.chunks.filter((c) => !c.silent).map((c) => c.index),
    timestamps: timestamps ? 'provider' : 'cut-plan',
    decodedSeconds,
    ...(pauseFinder ? { pauseFinder } : {}),
    ...(truncated ? { warnings: [truncated] } : {}),
  };
  if (truncated) deps.logger.warn('input truncated', { jobId: req.jobId, source: req.source, declaredSeconds: probe.durationSeconds, decodedSeconds });
  await writeJson(deps.store, keys.manifest, manifest);
  deps.logger.info('split done', {
    jobId: req.jobId,
    durationSeconds: probe.durationSeconds,
    chunks: plan.chunks.length,
    pending: manifest.pending.length,
  });
  return manifest;
}

/**
 * Encodes, stores and enqueues chunks in plan order, one at a time (encoding is CPU-bound), batching
 * queue messages by 10 (SQS SendMessageBatch) and flushing whenever it catches up with the plan.
 */
function chunkSender(req: SplitRequest, deps: SplitDeps) {
  const clock = deps.clock ?? wallClock;
  const keys = jobKeys(req.jobId);
  // Results an earlier run left (a re-split after a crash), listed once: see `storedChunkResults`.
  let stored: Promise<Set<string>> | undefined;
  const offered: PlannedChunk[] = [];
  let batch: ChunkTask[] = [];
  let batchOpenedAt = 0;
  let waiting = 0;
  let chain: Promise<void> = Promise.resolve();

  const flush = async () => {
    const tasks = batch;
    batch = [];
    if (tasks.length === 0) return;
    await deps.queue.send(tasks);
    deps.logger.debug('chunks enqueued', { jobId: req.jobId, chunks: tasks.map((t) => t.index) });
  };

  const sendOne = async (chunk: PlannedChunk, workPath: string) => {
    waiting -= 1;
    if (!chunk.silent) {
      const flac = await deps.audio.encodeChunk(workPath, chunk.start, chunk.end);
      if (flac.byteLength > deps.capabilities.maxUploadBytes) {
        throw new PermanentError(
          `${req.source}: chunk ${chunk.index} is ${flac.byteLength} bytes, over the provider's ${deps.capabilities.maxUploadBytes}-byte limit; lower VOXPIPE_CHUNK_SECONDS`,
        );
      }
      await deps.store.put(keys.chunkAudio(chunk), flac, { contentType: 'audio/flac' });
      stored ??= storedChunkResults(deps.store, req.jobId);
      if (!(await stored).has(keys.chunkResult(chunk))) {
        if (batch.length === 0) batchOpenedAt = clock.now();
        batch.push(chunkTask(req.jobId, req.options, chunk));
      }
    }
    // A message waits for company at most BATCH_WAIT_MS: batching saves requests, never time to first result.
    if (batch.length >= SEND_BATCH || waiting === 0 || clock.now() - batchOpenedAt >= BATCH_WAIT_MS) await flush();
  };

  return {
    /** Queue the chunks of `plan` not offered yet (the plan may be a certain prefix). */
    offer(plan: readonly PlannedChunk[], workPath: string) {
      for (const chunk of plan.slice(offered.length)) {
        offered.push(chunk);
        waiting += 1;
        chain = chain.then(() => sendOne(chunk, workPath));
        chain.catch(() => undefined); // reported by finish(); keeps Node from calling it unhandled meanwhile
      }
    },
    offered: () => offered.slice(),
    /** Wait until every offered chunk is stored and enqueued; throws the first failure. */
    async finish() {
      await chain;
      await flush();
    },
  };
}

/** The queue message of one planned chunk: what the transcriber stage (and native speech translation) sends. */
export function chunkTask(jobId: string, options: JobOptions, chunk: PlannedChunk): ChunkTask {
  return {
    jobId,
    index: chunk.index,
    start: chunk.start,
    end: chunk.end,
    audioKey: jobKeys(jobId).chunkAudio(chunk),
    language: options.language,
    words: options.words,
    diarize: options.diarize,
    ...(options.vocabulary?.length ? { vocabulary: options.vocabulary } : {}),
    speech: chunk.speech,
  };
}

async function resumable(jobId: string, store: BlobStore): Promise<JobManifest | undefined> {
  const keys = jobKeys(jobId);
  if (!(await store.exists(keys.manifest))) return undefined;
  const manifest = await readJson<JobManifest>(store, keys.manifest);
  const results = await storedChunkResults(store, jobId);
  for (const index of manifest.pending) {
    const chunk = manifest.plan.chunks[index];
    if (!chunk) return undefined;
    if (!results.has(keys.chunkResult(chunk)) && !(await store.exists(keys.chunkAudio(chunk)))) return undefined;
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
  const results = await storedChunkResults(deps.store, manifest.jobId);
  for (const index of manifest.pending) {
    const chunk = manifest.plan.chunks[index];
    if (chunk && !results.has(keys.chunkResult(chunk))) tasks.push(chunkTask(manifest.jobId, manifest.options, chunk));
  }
  await markTranscribing(manifest, deps);
  if (tasks.length === 0) await finishIfComplete(manifest.jobId, { ...deps, owner: SPLIT_OWNER });
  else await deps.queue.send(tasks);
}

async function markTranscribing(manifest: JobManifest, deps: SplitDeps): Promise<void> {
  const done = await finishedChunks(deps.store, manifest);
  await writeStatus(deps.store, {
    jobId: manifest.jobId,
    source: manifest.source,
    state: 'transcribing',
    chunksTotal: manifest.pending.length,
    chunksDone: manifest.pending.filter((i) => done.has(i)).length,
  }, deps.clock);
}

/** Whether this job trusts provider timestamps or times text from short cut-plan chunks. */
function usesProviderTimestamps(options: JobOptions, capabilities: TranscriberCapabilities): boolean {
  if (options.timestamps === 'cut-plan') return false;
  if (options.timestamps === 'provider') return true;
  return capabilities.timestamps;
}

/**
 * Keys of the job's stored chunk results, from one listing. The split stage only needs to know which exist, and
 * a listing tells it without reading them: on AWS the splitter (ffmpeg on untrusted uploads) may not read chunk
 * transcripts at all (infra/constructs/splitter.ts).
 */
async function storedChunkResults(store: BlobStore, jobId: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const key of store.list(jobKeys(jobId).chunksPrefix)) keys.add(key);
  return keys;
}
