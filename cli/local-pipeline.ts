import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { createFsStore } from '../shared/adapters/fs-store.js';
import { createMemoryQueue } from '../shared/adapters/memory-queue.js';
import type { VoxpipeConfig } from '../shared/config.js';
import { errorMessage } from '../shared/core/errors.js';
import { jobKeys, type ResultExt } from '../shared/core/keys.js';
import type { ChunkTask, JobOptions, Transcript } from '../shared/core/types.js';
import type { AudioTools, BlobStore, JobEvent, Logger, Transcriber } from '../shared/ports.js';
import { createCallPolicy, systemClock } from '../shared/providers/call-policy.js';
import { createTranscriber } from '../shared/providers/index.js';
import { aggregateJob } from '../shared/stages/aggregate.js';
import { recordDeadChunk } from '../shared/stages/dead-letter.js';
import { splitJob } from '../shared/stages/split.js';
import { readJson } from '../shared/stages/store-json.js';
import { transcribeChunk } from '../shared/stages/transcribe.js';
import { localJobId } from './job-id.js';

/** Per-run choices that are not configuration proper. */
export interface LocalRunOptions {
  readonly words: boolean;
  readonly diarize: boolean;
  /** Start a new job even when the same file and options ran before. */
  readonly force: boolean;
}

export interface LocalPipelineDeps {
  readonly config: VoxpipeConfig;
  readonly logger: Logger;
  readonly onEvent?: (event: JobEvent | { type: 'job.splitting'; jobId: string; file: string }) => void;
  /** Injected in tests; built from the config otherwise. */
  readonly transcriber?: Transcriber;
  readonly audio?: AudioTools;
}

/** One local job's outcome. */
export interface LocalJobResult {
  readonly file: string;
  readonly jobId: string;
  readonly transcript: Transcript;
  readonly store: BlobStore;
}

/**
 * The embedded runtime: filesystem store, in-process queue, the same stages the Lambdas run.
 * Composition root for the CLI: builds every adapter once and hands them to the stages.
 */
export function createLocalPipeline(deps: LocalPipelineDeps) {
  const { config, logger } = deps;
  const store = createFsStore(join(config.workDir, 'store'));
  const audio = deps.audio ?? createFfmpegAudioTools();
  const transcriber =
    deps.transcriber ??
    createTranscriber({
      provider: config.provider,
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      model: config.model,
      timestamps: config.timestamps === 'auto' ? undefined : config.timestamps === 'provider',
    });
  const policy = createCallPolicy({
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    timeoutMs: config.timeoutMs,
    onRetry: (info) => logger.warn('provider call retried', { ...info }),
  });
  const waiters = new Map<string, (event: JobEvent) => void>();
  const notifier = {
    async notify(event: JobEvent) {
      deps.onEvent?.(event);
      if (event.type !== 'job.progress') waiters.get(event.jobId)?.(event);
    },
  };
  const onJobReady = async (jobId: string) => {
    await aggregateJob(jobId, { store, notifier, logger });
  };
  const transcribeDeps = { store, transcriber, policy, logger, notifier, onJobReady };
  const queue = createMemoryQueue<ChunkTask>({
    handler: (task) => transcribeChunk(task, transcribeDeps),
    // More consumers than provider slots, so audio is read while other calls are in flight.
    concurrency: config.concurrency * 2,
    maxReceives: 3,
    clock: systemClock,
    onDeadLetter: (task, err) =>
      recordDeadChunk(task, errorMessage(err), { store, onJobReady, provider: transcriber.provider, model: transcriber.model }),
  });
  const running = new Map<string, Promise<LocalJobResult>>();
  // Splitting is CPU-bound ffmpeg work: one per core, while earlier files' chunks are transcribed.
  const splitLimit = pLimit(Math.max(1, availableParallelism()));

  async function runJob(file: string, name: string, jobId: string, options: JobOptions): Promise<LocalJobResult> {
    const done = new Promise<JobEvent>((resolve) => waiters.set(jobId, resolve));
    deps.onEvent?.({ type: 'job.splitting', jobId, file });
    const workDir = join(config.workDir, 'tmp', jobId);
    await mkdir(workDir, { recursive: true });
    try {
      await splitLimit(() => splitJob(
        { jobId, source: file, name, localPath: file, options },
        {
          store,
          audio,
          queue,
          capabilities: transcriber.capabilities,
          workDir,
          logger,
          notifier,
          onJobReady,
        },
      ));
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    await done;
    waiters.delete(jobId);
    const transcript = await readJson<Transcript>(store, jobKeys(jobId).result('json'));
    return { file, jobId, transcript, store };
  }

  return {
    transcriber,
    store,
    /** Transcribe one file; resolves when its job completed or failed (never rejects for bad input). */
    async transcribe(file: string, name: string, run: LocalRunOptions): Promise<LocalJobResult> {
      const options: JobOptions = {
        provider: transcriber.provider,
        model: transcriber.model,
        language: config.language,
        chunkSeconds: config.chunkSeconds,
        words: run.words,
        diarize: run.diarize,
        timestamps: config.timestamps,
      };
      const base = await localJobId(file, options);
      const jobId = run.force ? `${base.slice(0, 12)}-${Date.now().toString(36)}` : base;
      const existing = running.get(jobId);
      if (existing) return existing;
      const job = runJob(file, name, jobId, options);
      running.set(jobId, job);
      return job;
    },
    /** Copy a job's result files into `outDir` as `<name>.<ext>`. */
    async writeResults(result: LocalJobResult, outDir: string, name: string, formats: readonly ResultExt[]): Promise<string[]> {
      await mkdir(outDir, { recursive: true });
      const keys = jobKeys(result.jobId);
      const written: string[] = [];
      for (const ext of formats) {
        if (!(await store.exists(keys.result(ext)))) continue;
        const path = join(outDir, `${name}.${ext}`);
        await store.getFile(keys.result(ext), path);
        written.push(path);
      }
      return written;
    },
    /** Wait until no chunk is queued or running. */
    drain: () => queue.drain(),
  };
}
