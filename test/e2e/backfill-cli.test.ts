/**
 * `voxpipe backfill DIR` as users run it: the real CLI in a child process, 100 real WAV files, the real local
 * pipeline (ffmpeg), an openai-compatible provider double answering 429 + Retry-After to a fraction of calls.
 * The double tells files apart by the uploaded audio's exact duration (file i lasts 2 + 0.02·i s, one chunk each),
 * so "none lost, none done twice" is counted at the provider, not trusted from the CLI's own report.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { foldJournal, parseJournal } from '../../shared/core/backfill-ledger.js';
import type { BackfillReport } from '../../shared/backfill/run.js';
import { scratchDir } from '../fixtures/audio.js';
import { type ToneArchive, toneArchive } from '../fixtures/tone-archive.js';
import { recognizeByDuration } from '../doubles/fake-recognizer.js';
import { readFlacInfo } from '../doubles/flac.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';

const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');
const FILES = 100;
/** The first run is killed once this many files have finished: well inside the run, with files in flight. */
const KILL_AFTER = 30;
const MAX_IN_FLIGHT = 6;
const CONCURRENCY = 4;

describe('voxpipe backfill (local directory)', () => {
  let archive: ToneArchive;
  let double: ProviderDouble;
  let workDir: string;
  /** Successful transcriptions per file index (429 answers never reach the recognizer). */
  const hits = new Map<number, number>();
  let strangers = 0;

  beforeAll(async () => {
    archive = await toneArchive(FILES);
    double = await startProviderDouble({
      vendor: 'openai-compatible',
      apiKey: 'k',
      faults: { random: { seed: 11, rate: 0.15, faults: [{ kind: 'rate-limit', retryAfterSeconds: 1 }] } },
      recognize: async (flac) => {
        const i = archive.indexOfSeconds(readFlacInfo(flac)?.seconds ?? -1);
        if (i === undefined) strangers += 1;
        else hits.set(i, (hits.get(i) ?? 0) + 1);
        return recognizeByDuration(flac);
      },
    });
    workDir = await scratchDir('backfill');
  });
  afterAll(() => double.close());
  // A test that fails half-way (e.g. a wait that timed out on a loaded machine) must not leave its CLI running:
  // it would keep calling the double and fail the next test's call counts too.
  afterEach(async () => {
    const left = [...running];
    for (const child of left) child.kill('SIGKILL');
    await Promise.all(left.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('close', r)) : undefined)));
  });

  const env = () => ({
    VOXPIPE_PROVIDER: 'openai-compatible',
    VOXPIPE_MODEL: 'whisper-1',
    VOXPIPE_BASE_URL: double.url,
    VOXPIPE_API_KEY: 'k',
    VOXPIPE_TIMEOUT_SECONDS: '20',
    // The double answers a fixed word schedule by duration, not what the tones say, so the content guard would
    // (rightly) re-ask some files; these tests count calls per file to prove resume and budget, so it is off here.
    VOXPIPE_CONTENT_GUARD: 'off',
  });
  const args = (state: string, extra: string[] = []) => [
    'backfill', archive.dir,
    '--max-in-flight', String(MAX_IN_FLIGHT), '--concurrency', String(CONCURRENCY), '--chunk-seconds', '600',
    '--work-dir', workDir, '--out', join(workDir, 'out'), '--format', 'json',
    '--state', join(workDir, `${state}.jsonl`), '--report', join(workDir, `${state}-report`),
    ...extra,
  ];

  it('loses no file and transcribes none twice across a SIGKILL mid-run and a re-run, through 429s', async () => {
    // GIVEN a run killed with SIGKILL once KILL_AFTER files have finished
    const first = start(args('run'), env());
    const journalPath = join(workDir, 'run.jsonl');
    // Generous: on a loaded 2-core machine 50 files once took over 150 s; the wait is a guard, not a timing assertion.
    await waitFor(async () => finishedCount(journalPath).then((n) => n >= KILL_AFTER), 300_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = foldJournal(parseJournal(await readFile(journalPath, 'utf8'))).entries;
    const inFlightAtKill = [...atKill.values()].filter((e) => e.state === 'in-flight').map((e) => e.file);
    const completedAtKill = [...atKill.values()].filter((e) => e.state === 'completed').map((e) => e.file);
    const hitsAtKill = new Map(hits);
    expect(completedAtKill.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(completedAtKill.length).toBeLessThan(FILES);
    expect(inFlightAtKill.length).toBeLessThanOrEqual(MAX_IN_FLIGHT);

    // WHEN the same command runs again
    const second = await start(args('run'), env()).exited;

    // THEN every file is completed exactly once
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(workDir, 'run-report.json'), 'utf8')) as BackfillReport;
    expect(report.completed).toBe(FILES);
    expect(report.skipped).toBe(completedAtKill.length);
    expect(report.resumed).toBe(inFlightAtKill.length);
    expect(report.submitted).toBe(FILES - completedAtKill.length - inFlightAtKill.length);
    expect((await readFile(join(workDir, 'run-report.csv'), 'utf8')).trim().split('\n')).toHaveLength(FILES + 1);

    // … counted at the provider: every file transcribed; files finished before the kill never again; a second
    // transcription only for a file whose call was in flight when the process died (its answer was lost with it).
    const idOf = (i: number) => archive.files[i]!.id;
    expect(strangers).toBe(0);
    for (let i = 0; i < FILES; i += 1) expect(hits.get(i) ?? 0, idOf(i)).toBeGreaterThanOrEqual(1);
    for (const id of completedAtKill) {
      const i = archive.files.findIndex((f) => f.id === id);
      expect(hits.get(i), id).toBe(hitsAtKill.get(i));
    }
    const twice = [...hits].filter(([, n]) => n > 1).map(([i]) => idOf(i));
    for (const id of twice) expect(inFlightAtKill).toContain(id);
    expect([...hits.values()].every((n) => n <= 2)).toBe(true);

    // … the journal holds one submission and one finish per file; 429s happened and the call cap held
    const records = parseJournal(await readFile(journalPath, 'utf8'));
    const per = (t: string) => countBy(records.filter((r) => r.t === t).map((r) => (r as { file: string }).file));
    expect([...per('submitted').values()].every((n) => n === 1)).toBe(true);
    expect(per('finished').size).toBe(FILES);
    expect([...per('finished').values()].every((n) => n === 1)).toBe(true);
    expect(double.requests.filter((r) => r.status === 429).length).toBeGreaterThan(5);
    expect(double.maxConcurrent).toBeLessThanOrEqual(CONCURRENCY);
    const outputs = (await readdir(join(workDir, 'out'), { recursive: true })).filter((f) => String(f).endsWith('.json'));
    expect(outputs).toHaveLength(FILES);
  }, 600_000);

  it('stops submitting at the budget, and a re-run with a larger budget goes on where it stopped', async () => {
    // GIVEN $1 at $1 per audio minute: files of 2 s and up cost $0.033 and up, so about 29 fit
    const { code, stdout } = await start(args('budget', ['--budget-usd', '1', '--usd-per-minute', '1']), env()).exited;

    // THEN submitting stopped before the ledger passed the budget, and not one file later
    expect(code).toBe(1);
    expect(stdout).toMatch(/budget reached/);
    const report = JSON.parse(await readFile(join(workDir, 'budget-report.json'), 'utf8')) as BackfillReport;
    expect(report.stoppedByBudget).toBe(true);
    expect(report.spentUsd).toBeLessThanOrEqual(1);
    const done = report.rows.filter((r) => r.status === 'completed');
    const next = archive.files[done.length]!;
    expect(report.spentUsd + next.seconds / 60).toBeGreaterThan(1);
    expect(done.length).toBeGreaterThan(20);
    expect(report.completed + report.notSubmitted).toBe(FILES);
    expect(report.rows.filter((r) => r.status === 'not-submitted').every((r) => r.error === 'budget reached')).toBe(true);
    const spent = done.reduce((s, r) => s + (r.costUsd ?? 0), 0);
    expect(spent).toBeCloseTo(report.spentUsd, 6);

    // WHEN re-run with $2
    const again = await start(args('budget', ['--budget-usd', '2', '--usd-per-minute', '1']), env()).exited;
    expect(again.code).toBe(1);
    const second = JSON.parse(await readFile(join(workDir, 'budget-report.json'), 'utf8')) as BackfillReport;
    expect(second.skipped).toBe(done.length);
    expect(second.completed).toBeGreaterThan(done.length);
    expect(second.spentUsd).toBeLessThanOrEqual(2);
    expect(second.spentUsd).toBeGreaterThan(1.9);
  }, 180_000);

  it('--dry-run prints count, audio hours, cost and time from ffprobe, and submits nothing', async () => {
    const small = await toneArchive(20);
    const dryWork = await scratchDir('backfill-dry');
    const calls = double.calls;
    const { code, stdout } = await start(
      ['backfill', small.dir, '--dry-run', '--json', '--max-in-flight', '3', '--concurrency', '2', '--work-dir', dryWork, '--budget-usd', '0.01'],
      env(),
    ).exited;
    expect(code).toBe(0);
    const e = JSON.parse(stdout) as Record<string, number> & { secondsFrom: Record<string, number> };
    const truth = small.files.reduce((s, f) => s + f.seconds, 0);
    expect(e.files).toBe(20);
    expect(e.secondsFrom).toEqual({ probe: 20, size: 0, unknown: 0 });
    expect(e.audioSeconds).toBeCloseTo(truth, 1);
    expect(e.usdPerMinute).toBe(0.006);
    expect(e.costUsd).toBeCloseTo((truth / 60) * 0.006, 6);
    expect(e.parallelCalls).toBe(2);
    // 20× real time per call + 2 s per file + 0.5 s per call, over 2 lanes
    expect(e.wallSeconds).toBeCloseTo((truth / 20 + 20 * 2.5) / 2, 3);
    expect(double.calls).toBe(calls);
    expect(existsSync(join(dryWork, 'backfill'))).toBe(false);

    const text = await start(['backfill', small.dir, '--dry-run', '--work-dir', dryWork], env()).exited;
    expect(text.stdout).toMatch(/files: +20 audio\/video files/);
    expect(text.stdout).toMatch(/audio: +0\.01 h .*20 probed with ffprobe/);
    expect(text.stdout).toMatch(/cost: +\$0\.00 at \$0\.006\/min \(openai-compatible list price\)/);
    expect(text.stdout).toMatch(/wall time: +~\d+s with 8 calls at once/);
  }, 60_000);
});

/** CLI processes started and not yet exited. */
const running = new Set<ChildProcess>();

function start(args: string[], env: Record<string, string>): { child: ChildProcess; exited: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('close', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited };
}

async function finishedCount(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  return parseJournal(await readFile(path, 'utf8')).filter((r) => r.t === 'finished').length;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function countBy(values: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) out.set(v, (out.get(v) ?? 0) + 1);
  return out;
}
