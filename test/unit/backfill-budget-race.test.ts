/**
 * The backfill budget with several slots and a slow journal: a file's budget reservation must count from the
 * moment it passes the check, not from when its journal write lands (CI once saw $2.03 spent of a $2 budget).
 */
import { describe, expect, it } from 'vitest';
import type { BackfillRecord } from '../../shared/core/backfill-ledger.js';
import type { BackfillJournal, BackfillSource, JobRunner, SourceFile } from '../../shared/backfill/ports.js';
import { runBackfill } from '../../shared/backfill/run.js';

const FILES: SourceFile[] = Array.from({ length: 20 }, (_, i) => ({ id: `f${i}.mp3`, location: `/archive/f${i}.mp3`, sizeBytes: 1000 }));

/** A journal whose writes resolve only after every pending budget check of the other slots has run. */
function slowJournal(): BackfillJournal {
  const records: BackfillRecord[] = [];
  return {
    load: async () => [],
    append: async (r) => {
      for (let i = 0; i < 20; i += 1) await Promise.resolve();
      records.push(r);
    },
    close: async () => {},
  };
}

describe('backfill budget with concurrent slots', () => {
  it('never submits past the budget while journal writes are pending', async () => {
    // 60 s per file at $1/min: $1 each; a $3.50 budget fits 3 files.
    const source: BackfillSource = {
      description: '/archive',
      async *list() {
        yield* FILES;
      },
      probeSeconds: async () => 60,
    };
    const started: string[] = [];
    const runner: JobRunner = {
      run: async (file) => {
        started.push(file.id);
        return { status: 'completed', durationSeconds: 60 };
      },
    } as JobRunner;
    const report = await runBackfill({ source, runner, journal: slowJournal() }, { maxInFlight: 8, budgetUsd: 3.5, usdPerMinute: 1 });
    expect(started).toHaveLength(3);
    expect(report.spentUsd).toBeLessThanOrEqual(3.5);
    expect(report.stoppedByBudget).toBe(true);
  });
});
