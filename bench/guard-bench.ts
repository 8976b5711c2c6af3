/**
 * Content-guard benchmark: WER of the embedded pipeline against a provider double that loops on 15% of calls and
 * stops early (keeps 40% of the words) on another 15%, with the guard off and on.
 *
 *   node --import tsx bench/guard-bench.ts            # 4 seeds × 10-min tone speech, timed and text-only providers
 *   node --import tsx bench/guard-bench.ts --seeds 2  # fewer seeds
 *
 * "timed": OpenAI-compatible verbose_json (segments + words); "text only": vLLM serving Voxtral (no timestamps,
 * short chunks timed from the cut plan). WER is over the whole transcript; "flagged" counts segments marked suspect.
 */
import type { Transcript, Word } from '../shared/core/types.js';
import { misbehavingModel } from '../test/doubles/misbehave.js';
import type { Vendor } from '../test/doubles/provider-server.js';
import { startLocalRun, transcriptWords } from '../test/e2e/local-harness.js';
import { toneSpeechFixture } from '../test/fixtures/audio.js';
import { wordErrorRate } from '../test/fixtures/wer.js';

const seedsArg = process.argv.indexOf('--seeds');
const SEEDS = seedsArg > 0 ? Number(process.argv[seedsArg + 1]) : 4;
const PLAN = { loopRate: 0.15, stopRate: 0.15 } as const;

interface Row {
  vendor: string;
  guard: string;
  wer: number[];
  calls: number;
  chunks: number;
  flagged: number;
  segments: number;
}

const names = (words: readonly Word[]) => words.map((w) => w.word);

async function once(vendor: Vendor, guard: 'retry' | 'off', seed: number, path: string): Promise<{ t: Transcript; calls: number }> {
  const model = misbehavingModel({ seed, ...PLAN });
  const run = await startLocalRun({ vendor, chunkSeconds: 60, concurrency: 4, distort: model.distort, guard });
  try {
    const t = await run.transcribe(path, { words: false, force: true });
    return { t, calls: run.double.calls };
  } finally {
    await run.close();
  }
}

const rows = new Map<string, Row>();
for (let seed = 1; seed <= SEEDS; seed += 1) {
  const { path, words } = await toneSpeechFixture({ seed: 100 + seed, durationSeconds: 600, format: 'flac' });
  const truth = names(words);
  for (const vendor of ['openai-compatible', 'vllm'] as const) {
    for (const guard of ['off', 'retry'] as const) {
      const { t, calls } = await once(vendor, guard, seed, path);
      const key = `${vendor}/${guard}`;
      const row = rows.get(key) ?? { vendor, guard, wer: [], calls: 0, chunks: 0, flagged: 0, segments: 0 };
      row.wer.push(wordErrorRate(truth, transcriptWords(t)));
      row.calls += calls;
      row.chunks += t.chunks.length;
      row.flagged += t.segments.filter((s) => s.suspect).length;
      row.segments += t.segments.length;
      rows.set(key, row);
      process.stderr.write(`seed ${seed} ${key}: WER ${(row.wer.at(-1)! * 100).toFixed(1)}%\n`);
    }
  }
}

console.log(`\nContent guard, ${SEEDS} × 10-min tone speech, 15% of calls loop, 15% stop early\n`);
console.log('| provider | guard | mean WER | worst WER | calls / chunks | segments flagged suspect |');
console.log('|---|---|---|---|---|---|');
for (const r of rows.values()) {
  const mean = r.wer.reduce((a, b) => a + b, 0) / r.wer.length;
  const label = r.vendor === 'vllm' ? 'text only (vLLM Voxtral)' : 'timed (verbose_json)';
  console.log(
    `| ${label} | ${r.guard === 'off' ? 'off' : 'on'} | ${(mean * 100).toFixed(1)} % | ${(Math.max(...r.wer) * 100).toFixed(1)} % | ${r.calls} / ${r.chunks} | ${r.flagged} of ${r.segments} |`,
  );
}
