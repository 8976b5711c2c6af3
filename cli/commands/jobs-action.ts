/**
 * `voxpipe jobs list [--status failed] [--stuck]`: the jobs of the local store, from their
 * `jobs/<id>/status.json`. Stuck = not finished and the status has not moved for the deadline
 * (the same rule as the sweeper Lambda on AWS).
 *
 * The action of the command, loaded with `import()` when it runs; its definition (options, help) is ./jobs.ts.
 */
import { join } from 'node:path';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { loadConfig } from '../../shared/config.js';
import { isJobStatusKey, JOBS_PREFIX } from '../../shared/core/keys.js';
import type { JobState, JobStatus } from '../../shared/core/types.js';
import type { BlobStore } from '../../shared/ports.js';

const TERMINAL = new Set<JobState>(['completed', 'failed']);

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
  for await (const key of store.list(JOBS_PREFIX)) {
    if (!isJobStatusKey(key)) continue;
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

/** Flags of `voxpipe jobs list`. */
export interface JobsListFlags {
  status?: JobState;
  stuck: boolean;
  deadlineMinutes: number;
  json: boolean;
  workDir?: string;
}

/** `voxpipe jobs list`: print the store's jobs as a table or JSON lines. */
export async function jobsListCommand(flags: JobsListFlags): Promise<void> {
  const config = loadConfig(process.env, { VOXPIPE_WORK_DIR: flags.workDir });
  const jobs = await listJobs(createFsStore(join(config.workDir, 'store')), {
    status: flags.status,
    stuck: flags.stuck,
    deadlineMs: flags.deadlineMinutes * 60_000,
    now: Date.now(),
  });
  process.stdout.write(flags.json ? jobs.map((j) => `${JSON.stringify(j)}\n`).join('') : formatTable(jobs, Date.now()));
}
