/** `voxpipe jobs list`: filters by state and finds stuck jobs (unfinished, status older than the deadline). */
import { describe, expect, it } from 'vitest';
import { listJobs } from '../../cli/commands/jobs-action.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import { scratchDir } from '../fixtures/audio.js';

describe('jobs list', () => {
  it('lists failed jobs, and as stuck only unfinished jobs whose status is older than the deadline', async () => {
    const store = createFsStore(await scratchDir('jobs-list'));
    const now = Date.parse('2026-01-01T12:00:00Z');
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const jobs = [
      { jobId: 'stuck-transcribing', state: 'transcribing', updatedAt: at(400), chunksTotal: 4, chunksDone: 1 },
      { jobId: 'fresh-transcribing', state: 'transcribing', updatedAt: at(5) },
      { jobId: 'old-completed', state: 'completed', updatedAt: at(900) },
      { jobId: 'old-failed', state: 'failed', updatedAt: at(800), reason: 'corrupt' },
    ];
    for (const j of jobs) await store.put(jobKeys(j.jobId).status, JSON.stringify({ source: `${j.jobId}.mp3`, ...j }));
    const deadlineMs = 360 * 60_000;

    expect((await listJobs(store, { stuck: true, deadlineMs, now })).map((j) => j.jobId)).toEqual(['stuck-transcribing']);
    expect((await listJobs(store, { status: 'failed', deadlineMs, now })).map((j) => j.jobId)).toEqual(['old-failed']);
    expect((await listJobs(store, { deadlineMs, now })).map((j) => j.jobId)).toEqual(['fresh-transcribing', 'stuck-transcribing', 'old-failed', 'old-completed']);
  });
});
