/**
 * Backfill state: an append-only journal of records, folded into one entry per file, plus the budget ledger
 * and the final report rows. Pure: the journal file itself is written by `shared/backfill/journal-file.ts`.
 *
 * Write-ahead: `submitted` is journaled before a job is started, so a crash at any point leaves the file
 * either untouched (no record: submitted on the next run), in flight (resumed or followed on the next run,
 * never started a second time) or finished (skipped on the next run).
 */

/** One line of the journal. */
export type BackfillRecord =
  | { readonly t: 'header'; readonly source: string; readonly at: string }
  | {
      readonly t: 'submitted';
      readonly file: string;
      readonly at: string;
      readonly estimatedSeconds: number;
      readonly estimatedCostUsd: number;
    }
  /** The job id, once the runner knows it (S3: after the copy into the inbox). */
  | { readonly t: 'job'; readonly file: string; readonly jobId: string }
  | {
      readonly t: 'finished';
      readonly file: string;
      readonly at: string;
      readonly status: 'completed' | 'failed';
      readonly jobId?: string;
      readonly durationSeconds?: number;
      readonly costUsd: number;
      /** True when the provider reported the cost; false when it is the duration at the $/min rate. */
      readonly costReported: boolean;
      readonly error?: string;
    };

/** A journal record about one file (every record but the header). */
export type FileRecord = Exclude<BackfillRecord, { t: 'header' }>;

/** What the journal says about one file. */
export interface LedgerEntry {
  readonly file: string;
  readonly state: 'in-flight' | 'completed' | 'failed';
  readonly jobId?: string;
  readonly estimatedSeconds: number;
  readonly estimatedCostUsd: number;
  readonly durationSeconds?: number;
  readonly costUsd?: number;
  readonly costReported?: boolean;
  readonly error?: string;
  /** How many times the file was submitted (1 unless failed files were retried). */
  readonly submissions: number;
  readonly submittedAt: string;
  readonly finishedAt?: string;
}

/** The journal folded: one entry per file, plus the source it was written for. */
export interface BackfillState {
  readonly source?: string;
  readonly entries: ReadonlyMap<string, LedgerEntry>;
}

/** Fold journal records in order. Records for unknown files (`job`/`finished` without `submitted`) are ignored. */
export function foldJournal(records: readonly BackfillRecord[]): BackfillState {
  const entries = new Map<string, LedgerEntry>();
  let source: string | undefined;
  for (const r of records) {
    if (r.t === 'header') {
      source ??= r.source;
      continue;
    }
    const next = applyRecord(entries.get(r.file), r);
    if (next) entries.set(r.file, next);
  }
  return { source, entries };
}

/** One file's entry after one more of its records (`prev` undefined: none so far). */
export function applyRecord(prev: LedgerEntry | undefined, r: FileRecord): LedgerEntry | undefined {
  switch (r.t) {
    case 'submitted':
      return {
        file: r.file,
        state: 'in-flight',
        estimatedSeconds: r.estimatedSeconds,
        estimatedCostUsd: r.estimatedCostUsd,
        submissions: (prev?.submissions ?? 0) + 1,
        submittedAt: r.at,
      };
    case 'job':
      return prev && { ...prev, jobId: r.jobId };
    case 'finished':
      return (
        prev && {
          ...prev,
          state: r.status,
          jobId: r.jobId ?? prev.jobId,
          durationSeconds: r.durationSeconds,
          costUsd: r.costUsd,
          costReported: r.costReported,
          error: r.error,
          finishedAt: r.at,
        }
      );
  }
}

/** Parse journal text (JSON lines). A torn last line (the process was killed mid-write) is dropped. */
export function parseJournal(text: string): BackfillRecord[] {
  const out: BackfillRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as BackfillRecord);
    } catch {
      // Only the last line can be torn: appends are sequential, each ends with a newline.
    }
  }
  return out;
}

/**
 * What the ledger holds against the budget: per file, the cost of its finished job (reported by the provider,
 * else its duration at the $/min rate), or its estimate while it is in flight (or when a failed job left no
 * duration). Summed over every submission the journal knows, this run's and earlier runs'.
 */
export function ledgerUsd(entries: Iterable<LedgerEntry>): number {
  let sum = 0;
  for (const e of entries) sum += e.state === 'in-flight' ? e.estimatedCostUsd : (e.costUsd ?? e.estimatedCostUsd);
  return sum;
}

/**
 * Whether a file estimated at `nextUsd` may be submitted with `spentUsd` in the ledger. Submitting stops at the
 * first file that would take the ledger past the budget, so the ledger never exceeds it by an estimate.
 */
export function withinBudget(spentUsd: number, nextUsd: number, budgetUsd: number | undefined): boolean {
  return budgetUsd === undefined || spentUsd + nextUsd <= budgetUsd + 1e-9;
}

/** Status of a file in the final report. */
export type ReportStatus = 'completed' | 'failed' | 'in-flight' | 'not-submitted';

/** One row of the final report. */
export interface ReportRow {
  readonly file: string;
  readonly status: ReportStatus;
  readonly jobId?: string;
  /** Seconds of audio: the job's, else the estimate. */
  readonly durationSeconds?: number;
  readonly costUsd?: number;
  readonly error?: string;
}

/** The report as CSV (RFC 4180: fields with comma, quote or newline are quoted), header first. */
export function reportCsv(rows: readonly ReportRow[]): string {
  const head = ['file', 'status', 'duration_seconds', 'cost_usd', 'job_id', 'error'];
  const lines = [head.join(',')];
  for (const r of rows) {
    lines.push(
      [r.file, r.status, r.durationSeconds?.toFixed(3) ?? '', r.costUsd?.toFixed(6) ?? '', r.jobId ?? '', r.error ?? '']
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
