/**
 * The small interfaces backfill orchestration needs: where files come from, how one file becomes a job,
 * where the journal lives. The CLI builds them (local directory + local pipeline, or S3 listing + copy into
 * the deployed pipeline's inbox) and hands them to `runBackfill`.
 */
import type { BackfillRecord } from '../core/backfill-ledger.js';

/** One file of the archive. */
export interface SourceFile {
  /** Stable id: the path relative to the listed directory or prefix (`2019/talk.mp3`). Journal key. */
  readonly id: string;
  /** Where it is: an absolute local path, or `s3://bucket/key`. */
  readonly location: string;
  readonly sizeBytes: number;
}

/** Lists an archive. */
export interface BackfillSource {
  /** `s3://bucket/prefix` or the directory, as the user gave it. */
  readonly description: string;
  /** Every media file under the source, any number of them, in a stable order (journal ids are compared). */
  list(): AsyncIterable<SourceFile>;
  /**
   * Seconds of audio of a file, when the source can tell without downloading it (local: ffprobe).
   * Undefined when it cannot (S3): the size-based estimate is used. Throws nothing: unreadable → undefined.
   */
  probeSeconds?(file: SourceFile): Promise<number | undefined>;
}

/** How a job ended. */
export interface JobOutcome {
  readonly status: 'completed' | 'failed';
  readonly jobId?: string;
  readonly durationSeconds?: number;
  /** Cost the provider reported for the job, when it did. */
  readonly costUsd?: number;
  readonly error?: string;
}

/** Turns one file into a job and waits for it to finish. */
export interface JobRunner {
  /**
   * Start the job of `file` (or, when `resume` is given, pick up the job an earlier run started and never saw
   * finish: follow it, never start it a second time) and resolve when it has completed or failed.
   * `submitted` is called as soon as the job id is known, so it can be journaled before waiting;
   * `submittedAt` is when the file was journaled as submitted (ISO time), before any copy or call.
   * Rejections are reported as a failed file (the message must name the file and what to do).
   */
  run(
    file: SourceFile,
    resume: { readonly jobId?: string } | undefined,
    hooks: { readonly submittedAt: string; submitted(jobId: string): Promise<void> },
  ): Promise<JobOutcome>;
}

/** The durable journal of a run (see `core/backfill-ledger.ts`). */
export interface BackfillJournal {
  /** Every record written so far, in order (a torn last line dropped). */
  load(): Promise<BackfillRecord[]>;
  /** Append one record; durable against a killed process once the promise resolves. */
  append(record: BackfillRecord): Promise<void>;
  close(): Promise<void>;
}
