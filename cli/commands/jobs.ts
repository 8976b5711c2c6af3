/**
 * `voxpipe jobs list [--status failed] [--stuck]`: the jobs of the local store, from their
 * `jobs/<id>/status.json`. Stuck = not finished and the status has not moved for the deadline
 * (the same rule as the sweeper Lambda on AWS).
 */
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { loadConfig } from '../../shared/config.js';
import type { JobState, JobStatus } from '../../shared/core/types.js';
import type { BlobStore } from '../../shared/ports.js';

const STATES: readonly JobState[] = ['splitting', 'transcribing', 'aggregating', 'completed', 'failed'];
const TERMINAL = new Set<JobState>(['completed', 'failed']);

/** Add `voxpipe jobs list` to the program. */
export function registerJobsCommand(program: Command): void {
  program
    .command('jobs')
    .description('Inspect jobs in the local store')
    .command('list')
    .description('List jobs: id, state, last update, chunks, source')
    .addOption(new Option('--status <state>', 'only jobs in this state').choices(STATES))
    .option('--stuck', 'only unfinished jobs whose status has not moved for --deadline-minutes', false)
    .option('--deadline-minutes <n>', 'how long a job may sit in one state before it counts as stuck', parseMinutes, 360)
    .option('--json', 'one JSON object per line instead of a table', false)
    .option('--work-dir <dir>', 'job store (VOXPIPE_WORK_DIR)')
    .action(async (flags: { status?: JobState; stuck: boolean; deadlineMinutes: number; json: boolean; workDir?: string }) => {
      const config = loadConfig(process.env, { VOXPIPE_WORK_DIR: flags.workDir });
      const jobs = await listJobs(createFsStore(join(config.workDir, 'store')), {
        status: flags.status,
        stuck: flags.stuck,
        deadlineMs: flags.deadlineMinutes * 60_000,
        now: Date.now(),
      });
      process.stdout.write(flags.json ? jobs.map((j) => `${JSON.stringify(j)}\n`).join('') : formatTable(jobs, Date.now()));
    });
}

/** A job as listed. */
export interface ListedJob extends JobStatus {
  readonly stuck: boolean;
}

/** Jobs of a store, most recently updated first, filtered by state and/or stuckness. */
export async function listJobs(
  store: BlobStore,
  filter: { readonly status?: JobState; readonly stuck?: boolean; readonly deadlineMs: number; readonly now: number },
): Promise<ListedJob[]> {
  const jobs: ListedJob[] = [];
  for await (const key of store.list('jobs/')) {
    if (!/^jobs\/[^/]+\/status\.json$/.test(key)) continue;
    const status = JSON.parse(new TextDecoder().decode(await store.get(key))) as JobStatus;
    const stuck = !TERMINAL.has(status.state) && filter.now - Date.parse(status.updatedAt) > filter.deadlineMs;
    if (filter.status && status.state !== filter.status) continue;
    if (filter.stuck && !stuck) continue;
    jobs.push({ ...status, stuck });
  }
  return jobs.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}

function formatTable(jobs: readonly ListedJob[], now: number): string {
  if (jobs.length === 0) return 'no jobs\n';
  const rows = jobs.map((j) => [
    j.jobId,
    j.stuck ? `${j.state} (stuck)` : j.state,
    `${j.updatedAt} (${age(now - Date.parse(j.updatedAt))} ago)`,
    j.chunksTotal !== undefined ? `${j.chunksDone ?? 0}/${j.chunksTotal}` : '-',
    j.source,
    j.reason ?? '',
  ]);
  const header = ['JOB', 'STATE', 'UPDATED', 'CHUNKS', 'SOURCE', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const lines = [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
  return `${lines.join('\n')}\n`;
}

function age(ms: number): string {
  const m = Math.floor(ms / 60_000);
  return m >= 120 ? `${Math.floor(m / 60)}h` : m >= 1 ? `${m}m` : `${Math.max(0, Math.floor(ms / 1000))}s`;
}

function parseMinutes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number of minutes');
  return n;
}
