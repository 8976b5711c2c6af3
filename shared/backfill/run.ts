/**
 * Archive backfill: list a source, then drip-feed its files into jobs, never more than `maxInFlight` at once,
 * within a budget, journaling every step so a killed run can be re-run without losing or repeating a file.
 * Orchestration over the ports of `./ports.ts`; the arithmetic is in `core/backfill-*.ts`.
 */
import pLimit from 'p-limit';
import {
  applyRecord,
  type FileRecord,
  foldJournal,
  type LedgerEntry,
  ledgerUsd,
  type ReportRow,
  withinBudget,
} from '../core/backfill-ledger.js';
import { type BackfillEstimate, costOf, estimateBackfill, estimateSecondsFromSize, type PlannedFile } from '../core/backfill-plan.js';
import { errorMessage } from '../core/errors.js';
import type { BackfillJournal, BackfillSource, JobOutcome, JobRunner, SourceFile } from './ports.js';

/** Options of a run and of a dry run. */
export interface BackfillOptions {
  /** Jobs started and not yet finished, at most. */
  readonly maxInFlight: number;
  /** Stop submitting when the ledger would pass this; unlimited when undefined. */
  readonly budgetUsd?: number;
  readonly usdPerMinute: number;
  /** Submit files whose earlier job failed again (default: a failed file is finished and skipped). */
  readonly retryFailed?: boolean;
}

/** Progress, after every change. */
export interface BackfillProgress {
  /** Files this run will see finish (resumed + to submit), and those finished so far. */
  readonly total: number;
  readonly done: number;
  readonly inFlight: number;
  readonly failed: number;
  readonly spentUsd: number;
  /** Seconds of audio of the files finished so far and of all `total` (estimates until known): the ETA's basis. */
  readonly audioDoneSeconds: number;
  readonly audioTotalSeconds: number;
}

/** What a run did. */
export interface BackfillReport {
  readonly source: string;
  readonly rows: readonly ReportRow[];
  readonly listed: number;
  /** Finished in an earlier run and skipped. */
  readonly skipped: number;
  /** Left in flight by an earlier run and picked up. */
  readonly resumed: number;
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly notSubmitted: number;
  readonly stoppedByBudget: boolean;
  readonly spentUsd: number;
  readonly budgetUsd?: number;
}

export interface BackfillDeps {
  readonly source: BackfillSource;
  readonly runner: JobRunner;
  readonly journal: BackfillJournal;
  readonly now?: () => Date;
  readonly onProgress?: (progress: BackfillProgress) => void;
}

/** List the source and estimate each file: ffprobe where the source can, else the size at the assumed bit rate. */
export async function planFiles(source: BackfillSource, probeConcurrency = 4): Promise<{ file: SourceFile; plan: PlannedFile }[]> {
  const files: SourceFile[] = [];
  for await (const f of source.list()) files.push(f);
  const limit = pLimit(probeConcurrency);
  return Promise.all(files.map((file) => limit(async () => ({ file, plan: await estimateFile(source, file) }))));
}

/** `--dry-run`: the estimate of a run over `source`; submits nothing, writes nothing. */
export async function estimateRun(
  source: BackfillSource,
  opts: { usdPerMinute: number; parallelCalls: number; maxInFlight: number; chunkSeconds: number },
): Promise<BackfillEstimate> {
  const planned = await planFiles(source);
  return estimateBackfill(
    planned.map((p) => p.plan),
    opts,
  );
}

/** Run a backfill (see the module comment). Resolves when every submitted job has finished. */
export async function runBackfill(deps: BackfillDeps, opts: BackfillOptions): Promise<BackfillReport> {
  const { source, runner, journal } = deps;
  const now = deps.now ?? (() => new Date());
  const records = await journal.load();
  const state = foldJournal(records);
  if (state.source !== undefined && state.source !== source.description) {
    throw new Error(`state file belongs to ${state.source}, not ${source.description}: pass a different --state`);
  }
  if (state.source === undefined) await journal.append({ t: 'header', source: source.description, at: now().toISOString() });
  const entries = new Map<string, LedgerEntry>(state.entries);

  const listed: SourceFile[] = [];
  for await (const f of source.list()) listed.push(f);

  const finishedBefore = (e: LedgerEntry | undefined) => e !== undefined && (e.state === 'completed' || (e.state === 'failed' && !opts.retryFailed));
  const resume = listed.filter((f) => entries.get(f.id)?.state === 'in-flight');
  const fresh = listed.filter((f) => !finishedBefore(entries.get(f.id)) && entries.get(f.id)?.state !== 'in-flight');
  const skipped = listed.length - resume.length - fresh.length;

  let audioTotalSeconds = resume.reduce((s, f) => s + (entries.get(f.id)?.estimatedSeconds ?? 0), 0);
  for (const f of fresh) audioTotalSeconds += estimateSecondsFromSize(f.id, f.sizeBytes);
  const progress = { total: resume.length + fresh.length, done: 0, inFlight: 0, failed: 0, audioDoneSeconds: 0 };
  const report = () =>
    deps.onProgress?.({ ...progress, spentUsd: ledgerUsd(entries.values()), audioTotalSeconds: Math.max(audioTotalSeconds, progress.audioDoneSeconds) });

  // The ledger takes the record at once, before the journal write resolves: a budget check in another slot that
  // runs while this write is pending must see this reservation (else several slots pass the same check and the
  // run spends past its budget). The job itself still starts only after the write (write-ahead); a failed write
  // takes the reservation back.
  const append = async (record: FileRecord) => {
    const prev = entries.get(record.file);
    const next = applyRecord(prev, record);
    if (next) entries.set(record.file, next);
    try {
      await journal.append(record);
    } catch (err) {
      if (prev) entries.set(record.file, prev);
      else entries.delete(record.file);
      throw err;
    }
  };

  const runOne = async (file: SourceFile, resumeFrom: LedgerEntry | undefined) => {
    progress.inFlight += 1;
    report();
    let outcome: JobOutcome;
    try {
      outcome = await runner.run(file, resumeFrom ? { jobId: resumeFrom.jobId } : undefined, {
        submittedAt: entries.get(file.id)?.submittedAt ?? now().toISOString(),
        submitted: (jobId) => append({ t: 'job', file: file.id, jobId }),
      });
    } catch (err) {
      outcome = { status: 'failed', error: `${file.location}: ${errorMessage(err)}` };
    }
    const entry = entries.get(file.id);
    const estimatedSeconds = entry?.estimatedSeconds ?? 0;
    const duration = outcome.durationSeconds;
    const costReported = outcome.costUsd !== undefined;
    const costUsd = outcome.costUsd ?? (duration !== undefined ? costOf(duration, opts.usdPerMinute) : (entry?.estimatedCostUsd ?? 0));
    await append({
      t: 'finished',
      file: file.id,
      at: now().toISOString(),
      status: outcome.status,
      jobId: outcome.jobId ?? entry?.jobId,
      durationSeconds: duration,
      costUsd,
      costReported,
      error: outcome.error,
    });
    progress.inFlight -= 1;
    progress.done += 1;
    if (outcome.status === 'failed') progress.failed += 1;
    progress.audioDoneSeconds += duration ?? estimatedSeconds;
    audioTotalSeconds += (duration ?? estimatedSeconds) - estimatedSeconds;
    report();
  };

  // Drip-feed: a slot is taken before a file is estimated and journaled, so at most `maxInFlight` jobs ever run.
  const slots = pLimit(Math.max(1, opts.maxInFlight));
  let stoppedByBudget = false;
  let submitted = 0;
  const notSubmitted = new Set<string>();
  const tasks: Promise<void>[] = resume.map((f) => slots(() => runOne(f, entries.get(f.id))));
  for (const f of fresh) {
    tasks.push(
      slots(async () => {
        if (stoppedByBudget) {
          notSubmitted.add(f.id);
          return;
        }
        // The probe costs a process per file; it only decides something when there is a budget to keep.
        const plan = opts.budgetUsd !== undefined ? await estimateFile(source, f) : sizeEstimate(f);
        const estimatedCostUsd = costOf(plan.seconds, opts.usdPerMinute);
        audioTotalSeconds += plan.seconds - estimateSecondsFromSize(f.id, f.sizeBytes);
        if (!withinBudget(ledgerUsd(entries.values()), estimatedCostUsd, opts.budgetUsd)) {
          stoppedByBudget = true;
          notSubmitted.add(f.id);
          return;
        }
        await append({ t: 'submitted', file: f.id, at: now().toISOString(), estimatedSeconds: plan.seconds, estimatedCostUsd });
        submitted += 1;
        await runOne(f, undefined);
      }),
    );
  }
  report();
  await Promise.all(tasks);

  const rows = listed.map((f): ReportRow => {
    const e = entries.get(f.id);
    if (!e || notSubmitted.has(f.id)) {
      return { file: f.location, status: 'not-submitted', error: stoppedByBudget && notSubmitted.has(f.id) ? 'budget reached' : undefined };
    }
    return {
      file: f.location,
      status: e.state,
      jobId: e.jobId,
      durationSeconds: e.durationSeconds ?? e.estimatedSeconds,
      costUsd: e.costUsd ?? e.estimatedCostUsd,
      error: e.error,
    };
  });
  return {
    source: source.description,
    rows,
    listed: listed.length,
    skipped,
    resumed: resume.length,
    submitted,
    completed: rows.filter((r) => r.status === 'completed').length,
    failed: rows.filter((r) => r.status === 'failed').length,
    notSubmitted: rows.filter((r) => r.status === 'not-submitted').length,
    stoppedByBudget,
    spentUsd: ledgerUsd(entries.values()),
    budgetUsd: opts.budgetUsd,
  };
}

async function estimateFile(source: BackfillSource, file: SourceFile): Promise<PlannedFile> {
  if (!source.probeSeconds) return sizeEstimate(file);
  const probed = await source.probeSeconds(file);
  if (probed !== undefined) return { id: file.id, seconds: probed, secondsFrom: 'probe' };
  return { ...sizeEstimate(file), secondsFrom: 'unknown' };
}

function sizeEstimate(file: SourceFile): PlannedFile {
  return { id: file.id, seconds: estimateSecondsFromSize(file.id, file.sizeBytes), secondsFrom: 'size' };
}
