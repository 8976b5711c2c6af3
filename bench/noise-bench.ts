/**
 * Pause finding under noise: LibriVox speech (pocketsphinx-testdata) and espeak-ng passages (four voices, 130–155
 * words per minute), each joined with 0.8-s gaps, mixed with pink noise, brown noise, mains hum or a music bed at
 * 30, 20 and 10 dB SNR (test/fixtures/noisy-speech.ts), through
 * the ffmpeg adapter's analyze with the fixed −35 dB energy detector, the adaptive one (`noiseDb: 'auto'`) and
 * Silero VAD (adapters/silero-vad.ts).
 * - cuts: a plan of ≤ 10-s chunks (forces a cut in most gaps): how far each cut lies from the nearest true gap;
 * - segment timing with a provider that returns no timestamps (vLLM/OpenRouter): each chunk's text becomes one
 *   segment starting at the chunk's first detected speech (core/stitch.ts `fromPlan`), with the cut-plan chunk
 *   options the splitter uses for such providers at `chunkSeconds` 10. Truth: the speech onsets of the clean
 *   speech (before mixing), found with the fixed detector at −40 dB. Error: |segment start − first true onset at
 *   or after the chunk's start|.
 *
 *   npm run bench:noise                       # both sources
 *   npm run bench:noise -- --sources espeak   # one
 *
 * WER through the pipeline for the same matrix: bench/noise-wer-bench.ts.
 */
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { withSileroPauses } from '../shared/adapters/silero-vad.js';
import { planChunks } from '../shared/core/plan.js';
import { planOptionsFor } from '../shared/core/plan-options.js';
import type { Pause } from '../shared/core/types.js';
import { scratchDir } from '../test/fixtures/audio.js';
import { cleanSpeech, type NoiseKind, noisySpeech, type SpeechSource, speechAvailable } from '../test/fixtures/noisy-speech.js';
import { toolPathsOf } from '../shared/config.js';

const sourcesArg = process.argv.indexOf('--sources');
const SOURCES = (sourcesArg > 0 ? (process.argv[sourcesArg + 1] ?? '').split(',') : ['librivox', 'espeak']) as SpeechSource[];
for (const s of SOURCES) if (!speechAvailable(s)) throw new Error(`${s} needs pocketsphinx-testdata (apt-get install pocketsphinx-testdata)`);
const energy = createFfmpegAudioTools(toolPathsOf(process.env));
const silero = withSileroPauses(energy);
const workDir = await scratchDir('noise-bench');
const PLAN = { targetSeconds: 8, maxSeconds: 10, overlapSeconds: 1, minPauseSeconds: 0.3 };
const TEXT_ONLY = planOptionsFor({ timestamps: false, maxUploadBytes: 100 * 1024 * 1024, maxAudioSeconds: 3600 }, 10);

/** True speech onsets: the file's first speech and the end of every pause of the clean speech. */
async function onsetsOf(source: SpeechSource): Promise<number[]> {
  const clean = await cleanSpeech(source);
  const truth = await energy.analyze(clean.path, { workDir, noiseDb: -40, minSilenceSeconds: 0.3 });
  return [...(truth.pauses[0]?.start === 0 ? [] : [0]), ...truth.pauses.map((p) => p.end).filter((t) => t < truth.durationSeconds - 0.05)];
}

type Detector = 'fixed' | 'adaptive' | 'silero';
const label: Record<Detector, string> = { fixed: 'fixed −35 dB', adaptive: 'adaptive energy', silero: 'Silero VAD' };

async function pausesOf(path: string, d: Detector): Promise<{ pauses: Pause[]; durationSeconds: number }> {
  if (d === 'silero') return silero.analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
  return energy.analyze(path, { workDir, noiseDb: d === 'fixed' ? -35 : 'auto', minSilenceSeconds: 0.3 });
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

console.log(
  '| source | noise | SNR | detector | gaps found | pauses found | cuts inside a true gap | mean cut distance to gap centre | forced cuts | segment start error, mean / p95 (no-timestamp provider) | longest segment |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const only = process.argv.includes('--silero-only') ? (['silero'] as Detector[]) : (['fixed', 'adaptive', 'silero'] as Detector[]);
for (const source of SOURCES) {
  const onsets = await onsetsOf(source);
  for (const noise of ['pink', 'brown', 'hum', 'music'] as NoiseKind[]) {
    for (const snr of [30, 20, 10]) {
      const { path, gaps } = await noisySpeech(noise, snr, source);
      for (const d of only) {
        const a = await pausesOf(path, d);
        const found = gaps.filter((g) => a.pauses.some((p) => p.start < g.end - 0.1 && p.end > g.start + 0.1)).length;
        const plan = planChunks(a.durationSeconds, a.pauses, PLAN);
        const cuts = plan.chunks.slice(1).map((c) => ({ at: c.keepFrom, kind: c.startCut }));
        const dist = cuts.map((c) => Math.min(...gaps.map((g) => Math.abs(c.at - (g.start + g.end) / 2))));
        const inGap = cuts.filter((c) => gaps.some((g) => c.at >= g.start && c.at <= g.end)).length;
        const mean = dist.reduce((x, y) => x + y, 0) / Math.max(1, dist.length);
        // Segment timing through the cut plan, as a text-only provider's transcript gets it.
        const textPlan = planChunks(a.durationSeconds, a.pauses, TEXT_ONLY);
        const errors: number[] = [];
        let longest = 0;
        for (const c of textPlan.chunks) {
          const first = c.speech[0];
          const last = c.speech.at(-1);
          if (c.silent || !first || !last) continue;
          const onset = onsets.find((t) => t >= c.start - 0.05) ?? c.start;
          errors.push(Math.abs(first.start - Math.max(onset, c.start)));
          longest = Math.max(longest, last.end - first.start);
        }
        if (process.env.DEBUG_SEG) console.error(noise, snr, d, errors.map((e) => e.toFixed(3)).join(" "), textPlan.chunks.map((c) => `${c.start.toFixed(2)}:${c.speech[0]?.start.toFixed(2)}`).join(" "));
        const segMean = errors.reduce((x, y) => x + y, 0) / Math.max(1, errors.length);
        console.log(
          `| ${source === 'librivox' ? 'LibriVox' : 'espeak-ng'} | ${noise} | ${snr} dB | ${label[d]} | ${found} of ${gaps.length} | ${a.pauses.length} | ${inGap} of ${cuts.length} | ${(mean * 1000).toFixed(0)} ms | ${cuts.filter((c) => c.kind === 'forced').length} | ${(segMean * 1000).toFixed(0)} / ${(quantile(errors, 0.95) * 1000).toFixed(0)} ms | ${longest.toFixed(1)} s |`,
        );
      }
    }
  }
}
