/**
 * The content guard through the embedded pipeline: a provider double that loops on 15% of calls and stops early
 * on another 15%. With the guard, suspect chunks are sent again and what stays suspect is flagged; without it the
 * transcript silently loses words.
 */
import { describe, expect, it } from 'vitest';
import type { Transcript, Word } from '../../shared/core/types.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { wordErrorRate } from '../fixtures/wer.js';
import { misbehavingModel } from '../doubles/misbehave.js';
import type { Vendor } from '../doubles/provider-server.js';
import { startLocalRun, transcriptWords } from './local-harness.js';

const names = (words: readonly Word[]) => words.map((w) => w.word);
const PLAN = { seed: 11, loopRate: 0.15, stopRate: 0.15 } as const;

async function run(vendor: Vendor, guard: 'retry' | 'off', path: string) {
  const model = misbehavingModel(PLAN);
  const r = await startLocalRun({ vendor, chunkSeconds: 30, concurrency: 3, distort: model.distort, guard });
  try {
    const t = await r.transcribe(path, { words: false });
    return { t, calls: r.double.calls, misbehaved: [...model.log.values()].filter(Boolean).length };
  } finally {
    await r.close();
  }
}

/** Words of segments not marked suspect, in order. */
const trusted = (t: Transcript) => t.segments.filter((s) => !s.suspect).flatMap((s) => s.text.split(/\s+/).filter(Boolean));

describe.each(['openai-compatible', 'vllm'] as const)('content guard against a misbehaving model (%s)', (vendor) => {
  it('sends suspect chunks again, flags what stays suspect, and beats the unguarded transcript on WER', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 21, durationSeconds: 300, format: 'flac' });
    const truth = names(words);

    const off = await run(vendor, 'off', path);
    const on = await run(vendor, 'retry', path);

    const werOff = wordErrorRate(truth, transcriptWords(off.t));
    const werOn = wordErrorRate(truth, transcriptWords(on.t));
    console.log(`${vendor}: WER without guard ${(werOff * 100).toFixed(1)}%, with guard ${(werOn * 100).toFixed(1)}%; calls ${off.calls} → ${on.calls}; warnings: ${on.t.warnings.join(' | ')}`);
    expect(off.misbehaved).toBeGreaterThan(0);
    expect(werOff).toBeGreaterThan(0.02); // which calls misbehave depends on call order: a share, not a fixed count
    expect(werOn).toBeLessThan(werOff / 2);
    expect(on.t.status).toBe('completed');
    expect(on.t.chunks.some((c) => c.attempts > 1)).toBe(true);
    expect(on.calls).toBeGreaterThan(off.calls);
    // Whatever is still wrong is flagged: the unflagged segments hold only true words, in order.
    const kept = trusted(on.t);
    expect(wordErrorRate(truth, kept)).toBeLessThanOrEqual(1 - kept.length / truth.length + 1e-9);
    for (const w of on.t.warnings.filter((x) => /suspect/.test(x))) expect(w).toMatch(/^chunk \d+: /);
    // Completeness per chunk is in the result.
    expect(on.t.completeness?.chunks.length).toBe(on.t.chunks.length);
    expect(on.t.completeness?.ratio).toBeGreaterThan(0.9);
  });
});
