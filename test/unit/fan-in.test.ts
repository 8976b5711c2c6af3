import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { jobKeys } from '../../shared/core/keys.js';
import { balancedChunkSeconds } from '../../shared/core/plan-options.js';
import type { JobManifest, PlannedChunk } from '../../shared/core/types.js';
import { finishedChunks, finishIfComplete } from '../../shared/stages/fan-in.js';
import { readJson, writeJson, writeStatus } from '../../shared/stages/store-json.js';

const chunk = (index: number, start: number, end: number): PlannedChunk => ({
  index, start, end, keepFrom: start, keepUntil: end, startCut: 'pause', endCut: 'pause', silent: false, speech: [{ start, end }],
});

function manifest(chunks: PlannedChunk[]): JobManifest {
  return {
    jobId: 'job1',
    source: 'a.mp3',
    name: 'a',
    createdAt: '2026-11-24T00:00:00Z',
    options: { provider: 'offline', model: 'm', chunkSeconds: 60, words: false, diarize: false, timestamps: 'auto' },
    probe: { durationSeconds: 120, formatName: 'mp3', codec: 'mp3', sampleRate: 16000, channels: 1, sizeBytes: 1 },
    plan: { durationSeconds: 120, options: { targetSeconds: 60, maxSeconds: 90, overlapSeconds: 2, minPauseSeconds: 0.3 }, pauses: [], chunks },
    pending: chunks.map((c) => c.index),
    timestamps: 'provider',
  };
}

describe('fan-in', () => {
  it('ignores a result stored for the same index under another plan (another span)', async () => {
    const store = createFsStore(await mkdtemp(join(tmpdir(), 'fanin-')));
    const m = manifest([chunk(0, 0, 61.5), chunk(1, 61.5, 120)]);
    await writeJson(store, jobKeys('job1').manifest, m);
    // A result from an earlier plan whose chunk 0 ended at 58 s must not count as chunk 0 of this plan.
    await writeJson(store, jobKeys('job1').chunkResult(chunk(0, 0, 58)), { stale: true });
    await writeJson(store, jobKeys('job1').chunkResult(m.plan.chunks[1]!), { ok: true });
    expect([...(await finishedChunks(store, m))]).toEqual([1]);
    let ready = 0;
    expect(await finishIfComplete('job1', { store, onJobReady: async () => void ready++ })).toBe(false);
    await writeJson(store, jobKeys('job1').chunkResult(m.plan.chunks[0]!), { ok: true });
    expect(await finishIfComplete('job1', { store, onJobReady: async () => void ready++ })).toBe(true);
    expect(await finishIfComplete('job1', { store, onJobReady: async () => void ready++ })).toBe(false);
    expect(ready).toBe(1);
  });

  it('reports not complete (instead of failing) while the splitter has not written the manifest', async () => {
    const store = createFsStore(await mkdtemp(join(tmpdir(), 'fanin-')));
    expect(await finishIfComplete('nope', { store, onJobReady: async () => undefined })).toBe(false);
  });
});

describe('balancedChunkSeconds', () => {
  it('fills whole rounds of parallel calls and never lengthens chunks', () => {
    expect(balancedChunkSeconds(3600, 120, 8)).toBeCloseTo(112.5); // 30 chunks → 32 = 4 full rounds of 8
    expect(balancedChunkSeconds(300, 120, 8)).toBeCloseTo(37.5); // a short file uses all 8 slots
    expect(balancedChunkSeconds(60, 120, 8)).toBe(30); // …but chunks stay ≥ 30 s
    expect(balancedChunkSeconds(3600, 120, 1)).toBe(120);
    expect(balancedChunkSeconds(3600, 120, undefined)).toBe(120);
    for (const [d, c, p] of [[5000, 90, 7], [123, 20, 32], [36000, 600, 100]] as const) {
      const s = balancedChunkSeconds(d, c, p);
      expect(s).toBeLessThanOrEqual(c);
      const n = Math.ceil(d / s - 1e-9);
      if (s > 30) expect(n % p === 0 || n < p).toBe(true);
    }
  });
  it('stamps the claim and the hand-off with the clock it is given (a fixed clock in tests)', async () => {
    const store = createFsStore(await mkdtemp(join(tmpdir(), 'fanin-clock-')));
    const m = manifest([chunk(0, 0, 120)]);
    await writeJson(store, jobKeys('job1').manifest, m);
    await writeJson(store, jobKeys('job1').chunkResult(m.plan.chunks[0]!), { ok: true });
    const clock = { now: () => Date.parse('2030-01-02T03:04:05.000Z') };
    expect(await finishIfComplete('job1', { store, onJobReady: async () => undefined, clock })).toBe(true);
    expect(await readJson(store, jobKeys('job1').claim)).toMatchObject({ claimedAt: '2030-01-02T03:04:05.000Z', handedOffAt: '2030-01-02T03:04:05.000Z' });
    await writeStatus(store, { jobId: 'job1', source: 'a.mp3', state: 'aggregating' }, clock);
    expect(await readJson(store, jobKeys('job1').status)).toMatchObject({ state: 'aggregating', updatedAt: '2030-01-02T03:04:05.000Z' });
  });
});
