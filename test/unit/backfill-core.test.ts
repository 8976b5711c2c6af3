import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRecord, type BackfillRecord, type FileRecord, foldJournal, ledgerUsd, parseJournal, reportCsv, withinBudget } from '../../shared/core/backfill-ledger.js';
import { estimateBackfill, estimateSecondsFromSize, isMediaName } from '../../shared/core/backfill-plan.js';

const at = '2026-01-01T00:00:00.000Z';
const submitted = (file: string, usd = 0.1): FileRecord => ({ t: 'submitted', file, at, estimatedSeconds: 60, estimatedCostUsd: usd });
const finished = (file: string, status: 'completed' | 'failed', costUsd: number): FileRecord => ({
  t: 'finished', file, at, status, costUsd, costReported: false, durationSeconds: 30,
});

describe('backfill journal and ledger', () => {
  it('folds a journal into one entry per file: in flight until finished, job id kept', () => {
    const state = foldJournal([
      { t: 'header', source: '/a', at },
      submitted('a.mp3'),
      { t: 'job', file: 'a.mp3', jobId: 'j1' },
      submitted('b.mp3'),
      finished('a.mp3', 'completed', 0.05),
    ]);
    expect(state.source).toBe('/a');
    expect(state.entries.get('a.mp3')).toMatchObject({ state: 'completed', jobId: 'j1', costUsd: 0.05, submissions: 1 });
    expect(state.entries.get('b.mp3')).toMatchObject({ state: 'in-flight', submissions: 1 });
  });

  it('drops a torn last line left by a killed process', () => {
    const text = `${JSON.stringify(submitted('a.mp3'))}\n${JSON.stringify(finished('a.mp3', 'completed', 1)).slice(0, 20)}`;
    expect(parseJournal(text)).toEqual([submitted('a.mp3')]);
  });

  it('counts a file once in the ledger however often it was submitted, at its finished cost or in-flight estimate', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.integer({ min: 0, max: 100 })), { maxLength: 40 }), (ops) => {
        const records: BackfillRecord[] = [];
        for (const [f, finish, cents] of ops) {
          records.push(submitted(`f${f}`, 0.5));
          if (finish) records.push(finished(`f${f}`, 'completed', cents / 100));
        }
        const entries = foldJournal(records).entries;
        const expected = [...entries.values()].reduce((s, e) => s + (e.state === 'in-flight' ? 0.5 : (e.costUsd ?? 0)), 0);
        expect(entries.size).toBe(new Set(ops.map(([f]) => f)).size);
        expect(ledgerUsd(entries.values())).toBeCloseTo(expected, 9);
      }),
    );
  });

  it('ignores records of files never submitted', () => {
    expect(applyRecord(undefined, finished('x', 'completed', 1))).toBeUndefined();
    expect(foldJournal([{ t: 'job', file: 'x', jobId: 'j' }]).entries.size).toBe(0);
  });

  it('admits a file only while the ledger plus its estimate stays within the budget', () => {
    expect(withinBudget(0.9, 0.1, 1)).toBe(true);
    expect(withinBudget(0.9, 0.11, 1)).toBe(false);
    expect(withinBudget(1e6, 1, undefined)).toBe(true);
  });

  it('writes CSV with quoted commas, quotes and newlines', () => {
    const csv = reportCsv([{ file: 'a, "b".mp3', status: 'failed', error: 'line1\nline2', durationSeconds: 1.5, costUsd: 0.01 }]);
    expect(csv).toBe('file,status,duration_seconds,cost_usd,job_id,error\n"a, ""b"".mp3",failed,1.500,0.010000,,"line1\nline2"\n');
  });
});

describe('backfill planning', () => {
  it('picks audio and video by extension, case-insensitively, and skips sidecars and hidden files', () => {
    expect(['a.MP3', 'x/b.m4a', 'c.webm', 'd.mov', 'e.flac'].every(isMediaName)).toBe(true);
    expect(['a.mp3.voxpipe.json', '.hidden.mp3', 'notes.txt', 'cover.png', 'noext'].some(isMediaName)).toBe(false);
  });

  it('estimates length from size at the assumed bit rate of the extension', () => {
    expect(estimateSecondsFromSize('a.mp3', 16_000 * 60)).toBeCloseTo(60, 9); // 128 kbit/s
    expect(estimateSecondsFromSize('a.opus', 6_000 * 10)).toBeCloseTo(10, 9); // 48 kbit/s
    expect(estimateSecondsFromSize('a.unknown', 16_000)).toBeCloseTo(1, 9);
  });

  it('estimates cost at the rate and wall time over the lanes', () => {
    const e = estimateBackfill(
      [
        { id: 'a', seconds: 600, secondsFrom: 'probe' },
        { id: 'b', seconds: 60, secondsFrom: 'size' },
      ],
      { usdPerMinute: 0.006, parallelCalls: 2, maxInFlight: 4, chunkSeconds: 120 },
    );
    expect(e.audioSeconds).toBe(660);
    expect(e.costUsd).toBeCloseTo(0.066, 9);
    // (600/20 + 2 + 0.5·5) + (60/20 + 2 + 0.5·1), over 2 lanes
    expect(e.wallSeconds).toBeCloseTo((34.5 + 5.5) / 2, 9);
    expect(e.secondsFrom).toEqual({ probe: 1, size: 1, unknown: 0 });
  });
});
