/**
 * Pause finding under a noise floor, on real speech (LibriVox, pocketsphinx-testdata): the fixed −35 dB
 * energy detector against the adaptive one (noise floor estimate, speech band). Two SNR cases here; the
 * full grid is bench/noise-bench.ts.
 */
import { describe, expect, it } from 'vitest';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { TOOLS } from '../fixtures/tools.js';
import { scratchDir } from '../fixtures/audio.js';
import { librivoxAvailable, noisySpeech } from '../fixtures/noisy-speech.js';

const tools = createFfmpegAudioTools(TOOLS);

/** Inserted gaps in which a pause was found. */
function gapsFound(pauses: readonly { start: number; end: number }[], gaps: readonly { start: number; end: number }[]): number {
  return gaps.filter((g) => pauses.some((p) => p.start < g.end - 0.1 && p.end > g.start + 0.1)).length;
}

describe.runIf(librivoxAvailable())('pause finding under noise (LibriVox + sox)', () => {
  it.each([
    ['pink', 10],
    ['hum', 20],
  ] as const)('%s noise at %i dB SNR: the adaptive detector finds the pauses the fixed −35 dB one misses', async (noise, snr) => {
    const { path, gaps } = await noisySpeech(noise, snr);
    const workDir = await scratchDir('noise');
    const fixed = await tools.analyze(path, { workDir, noiseDb: -35, minSilenceSeconds: 0.3 });
    const adaptive = await tools.analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    const found = { fixed: gapsFound(fixed.pauses, gaps), adaptive: gapsFound(adaptive.pauses, gaps) };
    expect(found.adaptive).toBeGreaterThanOrEqual(Math.ceil(gaps.length * 0.9));
    expect(found.fixed).toBeLessThan(found.adaptive);
    // No pause in the middle of a clip longer than real pauses are: pauses found are few and short.
    expect(adaptive.pauses.length).toBeLessThan(gaps.length * 4);
  });
});
