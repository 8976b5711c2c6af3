/**
 * Pause finding under noise: LibriVox speech (pocketsphinx-testdata) joined with 0.8-s gaps, mixed with pink
 * noise, brown noise, mains hum or a music bed at 30, 20 and 10 dB SNR (test/fixtures/noisy-speech.ts), through
 * the ffmpeg adapter's analyze with the fixed −35 dB energy detector and the adaptive one (`noiseDb: 'auto'`).
 * Then a plan of ≤ 10-s chunks (forces a cut in most gaps): how far each cut lies from the nearest true gap.
 *
 *   node --import tsx bench/noise-bench.ts
 */
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { planChunks } from '../shared/core/plan.js';
import { scratchDir } from '../test/fixtures/audio.js';
import { librivoxAvailable, type NoiseKind, noisySpeech } from '../test/fixtures/noisy-speech.js';

if (!librivoxAvailable()) throw new Error('needs pocketsphinx-testdata (apt-get install pocketsphinx-testdata)');
const tools = createFfmpegAudioTools();
const workDir = await scratchDir('noise-bench');
const PLAN = { targetSeconds: 8, maxSeconds: 10, overlapSeconds: 1, minPauseSeconds: 0.3 };

console.log('| noise | SNR | detector | gaps found | pauses found | cuts in a true gap | mean cut distance to gap centre | forced cuts |');
console.log('|---|---|---|---|---|---|---|---|');
for (const noise of ['pink', 'brown', 'hum', 'music'] as NoiseKind[]) {
  for (const snr of [30, 20, 10]) {
    const { path, gaps } = await noisySpeech(noise, snr);
    for (const noiseDb of [-35, 'auto'] as const) {
      const a = await tools.analyze(path, { workDir, noiseDb, minSilenceSeconds: 0.3 });
      const found = gaps.filter((g) => a.pauses.some((p) => p.start < g.end - 0.1 && p.end > g.start + 0.1)).length;
      const plan = planChunks(a.durationSeconds, a.pauses, PLAN);
      const cuts = plan.chunks.slice(1).map((c) => ({ at: c.keepFrom, kind: c.startCut }));
      const dist = cuts.map((c) => Math.min(...gaps.map((g) => Math.abs(c.at - (g.start + g.end) / 2))));
      const inGap = cuts.filter((c) => gaps.some((g) => c.at >= g.start && c.at <= g.end)).length;
      const mean = dist.reduce((x, y) => x + y, 0) / Math.max(1, dist.length);
      console.log(
        `| ${noise} | ${snr} dB | ${noiseDb === 'auto' ? 'adaptive' : 'fixed −35 dB'} | ${found} of ${gaps.length} | ${a.pauses.length} | ${inGap} of ${cuts.length} | ${(mean * 1000).toFixed(0)} ms | ${cuts.filter((c) => c.kind === 'forced').length} |`,
      );
    }
  }
}
