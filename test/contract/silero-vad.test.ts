/**
 * Silero VAD pause finding on real speech under the noise beds the adaptive energy detector fails on (mains hum at
 * 5 dB SNR, a music bed at 10 dB; at 10 dB the energy detector finds every pause in hum), `auto` falling back to the energy detector on tone "speech" (a non-speech test
 * signal), and the model running under the Lambda runtime's Node 22 from the installed packages.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import type { AudioTools } from '../../shared/ports.js';
import { TOOLS } from '../fixtures/tools.js';
import { DECIDE_SECONDS, judgeWindow, type PauseFinderChoice, sileroModelPath, splicePauses, withPauseFinder } from '../../shared/adapters/silero-vad.js';
import { LAMBDA_NODE } from '../artifact/lambda-runtime.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { cleanSpeech, librivoxAvailable, noisySpeech } from '../fixtures/noisy-speech.js';

const run = promisify(execFile);
const energy = createFfmpegAudioTools(TOOLS);

function gapsFound(pauses: readonly { start: number; end: number }[], gaps: readonly { start: number; end: number }[]): number {
  return gaps.filter((g) => pauses.some((p) => p.start < g.end - 0.1 && p.end > g.start + 0.1)).length;
}

describe.runIf(librivoxAvailable())('Silero VAD pauses (LibriVox + sox noise beds)', () => {
  it.each([
    ['hum', 5],
    ['music', 10],
    ['pink', 10],
  ] as const)('%s at %i dB SNR: finds the true pauses, none inside the speech', async (noise, snr) => {
    const { path, gaps } = await noisySpeech(noise, snr);
    const workDir = await scratchDir('vad');
    const choices: PauseFinderChoice[] = [];
    const vad = await withPauseFinder(energy, 'auto', (c) => choices.push(c)).analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    const adaptive = await energy.analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    expect(choices.map((c) => c.detector)).toEqual(['silero']);
    expect(gapsFound(vad.pauses, gaps)).toBe(gaps.length);
    // Every pause found is one of the true gaps or the file's leading/trailing edge: none cuts into a word.
    for (const p of vad.pauses) {
      const inGap = gaps.some((g) => p.start >= g.start - 0.35 && p.end <= g.end + 0.35);
      expect(inGap || p.start === 0 || p.end >= vad.durationSeconds - 0.5, `pause ${p.start}–${p.end}`).toBe(true);
    }
    if (noise !== 'pink') expect(gapsFound(adaptive.pauses, gaps)).toBeLessThan(gaps.length); // where energy fails
  });

  it('streams: the frontiers passed on while decoding are prefixes of the final pauses', async () => {
    const { path } = await noisySpeech('music', 20);
    const frontiers: { seconds: number; pauses: readonly { start: number; end: number }[] }[] = [];
    const tools = withPauseFinder(energy, 'silero');
    const out = await tools.analyze(path, { workDir: await scratchDir('vad'), noiseDb: 'auto', minSilenceSeconds: 0.3, onProgress: (f) => frontiers.push(f) });
    expect(frontiers.length).toBeGreaterThan(0);
    for (const f of frontiers) expect(out.pauses.slice(0, f.pauses.length)).toEqual(f.pauses);
  });
});

describe.runIf(librivoxAvailable())('auto with a music intro (issue 12: the first minute no longer decides the file)', () => {
  it('judges the next window when Silero hears no speech, then uses Silero from there and the energy pauses before', async () => {
    const speech = await cleanSpeech('librivox');
    const dir = await scratchDir('vad-intro');
    const multi = join(dir, 'intro-4ch.wav');
    const intro = join(dir, 'intro.wav');
    const path = join(dir, 'podcast.wav');
    // 75 s of a music bed (four sines, slow tremolo), mono at about -20 dBFS, then the LibriVox speech.
    await run('sox', ['-n', '-r', '16000', '-c', '4', multi, 'synth', '75', 'sine', '220', 'sine', '277', 'sine', '330', 'sine', '440', 'tremolo', '0.5', '60']);
    await run('sox', [multi, '-b', '16', intro, 'remix', '-', 'gain', '-n', '-17']);
    await run('sox', [intro, speech.path, '-r', '16000', '-c', '1', '-b', '16', path]);
    const workDir = await scratchDir('vad');
    const choices: PauseFinderChoice[] = [];
    const auto: AudioTools = withPauseFinder(energy, 'auto', (c) => choices.push(c));
    const out = await auto.analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    const plain = await energy.analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });

    expect(choices).toHaveLength(1);
    expect(choices[0]).toMatchObject({ detector: 'silero', switchAt: DECIDE_SECONDS });
    expect(out.pauseFinder).toBe('silero');
    // Before the switch: exactly the energy detector's pauses (the music is sound: it will be sent, nothing lost).
    const cut = (ps: readonly { start: number; end: number }[]) => ps.filter((p) => p.start < DECIDE_SECONDS).map((p) => ({ start: p.start, end: Math.min(p.end, DECIDE_SECONDS) }));
    expect(cut(out.pauses)).toEqual(cut(plain.pauses));
    // After it: Silero finds every gap of the speech.
    const gaps = speech.gaps.map((g) => ({ start: g.start + 75, end: g.end + 75 }));
    expect(gapsFound(out.pauses, gaps)).toBe(gaps.length);
  });

  it('judgeWindow and splicePauses', () => {
    expect(judgeWindow(0.8)).toBe('silero');
    expect(judgeWindow(0.2)).toBe('energy');
    expect(judgeWindow(0.01)).toBe('undecided');
    expect(splicePauses([{ start: 10, end: 20 }, { start: 55, end: 70 }], [{ start: 50, end: 65 }, { start: 80, end: 81 }], 60)).toEqual([
      { start: 10, end: 20 },
      { start: 55, end: 60 },
      { start: 60, end: 65 },
      { start: 80, end: 81 },
    ]);
    expect(splicePauses([{ start: 1, end: 2 }], [{ start: 3, end: 4 }], 0)).toEqual([{ start: 3, end: 4 }]);
  });
});

describe('pause finder choice', () => {
  it('auto uses the energy detector for tone "speech" (not speech to Silero); silero alone finds no speech in it', async () => {
    const { path } = await toneSpeechFixture({ seed: 7, durationSeconds: 40, format: 'wav' });
    const workDir = await scratchDir('vad');
    const choices: PauseFinderChoice[] = [];
    const auto = await withPauseFinder(energy, 'auto', (c) => choices.push(c)).analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    const plain = await energy.analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    expect(choices[0]?.detector).toBe('energy');
    expect(choices[0]?.speechShare).toBeLessThan(0.5);
    expect(auto.pauses).toEqual(plain.pauses);
    const silero = await withPauseFinder(energy, 'silero').analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
    const quiet = silero.pauses.reduce((a, p) => a + p.end - p.start, 0);
    expect(quiet).toBeGreaterThan(silero.durationSeconds * 0.5);
  });

  it('auto falls back to the energy detector when the model cannot load; silero says why', async () => {
    const { path } = await toneSpeechFixture({ seed: 7, durationSeconds: 40, format: 'wav' });
    const workDir = await scratchDir('vad');
    // A fresh process would be needed to test a missing binding; a missing model takes the same path.
    const { withSileroPauses } = await import('../../shared/adapters/silero-vad.js');
    const choices: PauseFinderChoice[] = [];
    const missing = join(workDir, 'no-such-model.onnx');
    expect(await withSileroPauses(energy, { mode: 'auto', modelPath: missing, onChoice: (c) => choices.push(c) }).analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 })).toBeTruthy();
    expect(choices[0]?.unavailable ?? '').toContain('no-such-model.onnx');
    await expect(withSileroPauses(energy, { mode: 'silero', modelPath: missing }).analyze(path, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 })).rejects.toThrow(/VOXPIPE_PAUSES=energy/);
  });
});

describe.runIf(existsSync(LAMBDA_NODE) && librivoxAvailable())('Silero under the Lambda runtime (Node 22)', () => {
  it('onnxruntime-node loads and scores speech under Node 22', async () => {
    const { path } = await noisySpeech('hum', 10);
    const dir = await scratchDir('vad-node22');
    const script = join(dir, 'score.mjs');
    // Plain ESM (no tsx): what a bundled handler does, resolving onnxruntime-node from the project.
    await writeFile(
      script,
      `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(process.cwd(), 'package.json'))});
const ort = require('onnxruntime-node');
const { execFileSync } = require('node:child_process');
const buf = execFileSync('ffmpeg', ['-v', 'error', '-i', process.argv[2], '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], { maxBuffer: 1 << 28 });
const pcm = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
const s = await ort.InferenceSession.create(process.argv[3]);
let state = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
const ctx = new Float32Array(64); let speech = 0, frames = 0;
for (let i = 0; i + 512 <= pcm.length; i += 512) {
  const x = new Float32Array(576); x.set(ctx); x.set(pcm.subarray(i, i + 512), 64); ctx.set(x.subarray(512));
  const o = await s.run({ input: new ort.Tensor('float32', x, [1, 576]), state, sr }); state = o.stateN;
  frames++; if (o.output.data[0] > 0.5) speech++;
}
console.log(JSON.stringify({ node: process.version, frames, speech }));
`,
    );
    const { stdout } = await run(LAMBDA_NODE, [script, path, sileroModelPath()], { maxBuffer: 1 << 20 });
    const out = JSON.parse(stdout.trim()) as { node: string; frames: number; speech: number };
    expect(out.node).toMatch(/^v22\./);
    // LibriVox: about 85 % speech; hum alone would score near 0.
    expect(out.speech / out.frames).toBeGreaterThan(0.6);
    expect(out.speech / out.frames).toBeLessThan(0.98);
  });
});
