/**
 * End-to-end benchmark of the embedded pipeline on a 60-minute file against a provider double with a
 * latency model (300 ms + 20 ms per audio second), at concurrency 8. Prints wall time ÷ the
 * provider-bound ideal (Σ chunk latency ÷ concurrency). Target ≤ 1.10×.
 *
 *   node --import tsx bench/e2e-bench.ts [--minutes 60] [--concurrency 8] [--chunk-seconds 120]
 *
 * The double answers with a cheap synthetic recognizer (words from the FLAC header), so its CPU does not
 * blur the pipeline's own overhead; the latency model stands for the model's processing time.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createLocalPipeline } from '../cli/local-pipeline.js';
import { loadConfig } from '../shared/config.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { scratchDir, toneSpeechFixture } from '../test/fixtures/audio.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '8' },
    'chunk-seconds': { type: 'string', default: '120' },
  },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
const latency = (audioSeconds: number) => 300 + 20 * audioSeconds;

const fixture = await toneSpeechFixture({ seed: 60, durationSeconds: minutes * 60, format: 'mp3' });
// The double runs in its own process, as a remote provider would: its CPU does not slow the pipeline.
const child = spawn(process.execPath, ['--import', 'tsx', new URL('./provider-double-process.ts', import.meta.url).pathname, 'openai-compatible', '300', '20'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout });
const [url] = (await once(lines, 'line')) as [string];
const double = { url };
const workDir = await scratchDir('e2e-bench');
const config = loadConfig({
  VOXPIPE_PROVIDER: 'openai-compatible',
  VOXPIPE_MODEL: 'whisper-1',
  VOXPIPE_BASE_URL: double.url,
  VOXPIPE_API_KEY: 'k',
  VOXPIPE_WORK_DIR: workDir,
  VOXPIPE_CONCURRENCY: String(concurrency),
  VOXPIPE_CHUNK_SECONDS: values['chunk-seconds'],
});
const timeline: string[] = [];
let started = 0;
const mark = (what: string) => timeline.push(`${((performance.now() - started) / 1000).toFixed(2)} s  ${what}`);
let chunksDone = 0;
const logger = {
  debug(msg: string, extra?: Record<string, unknown>) {
    if (msg === 'chunks enqueued') mark(`${msg} ${JSON.stringify(extra?.chunks)}`);
  },
  info(msg: string) {
    if (msg === 'chunk done' && ++chunksDone !== 1) return;
    mark(msg === 'chunk done' ? 'first chunk done' : msg);
  },
  warn() {},
  error() {},
};
const pipeline = createLocalPipeline({ config, logger });

started = performance.now();
const { transcript } = await pipeline.transcribe(fixture.path, 'bench', { words: false, diarize: false, force: true });
const wallMs = performance.now() - started;
child.kill('SIGTERM');
const [stats] = (await once(lines, 'line')) as [string];

const sumLatency = transcript.chunks.reduce((s, c) => s + latency(c.end - c.start), 0);
const ideal = sumLatency / concurrency;
console.log(`machine: ${cpus().length}× ${cpus()[0]?.model ?? '?'}, node ${process.version}`);
console.log(`input: ${minutes} min mp3, ${transcript.chunks.length} chunks (target ${values['chunk-seconds']} s), concurrency ${concurrency}`);
console.log(`status: ${transcript.status}, double: ${stats}`);
console.log(`wall: ${(wallMs / 1000).toFixed(2)} s, ideal (Σ latency ÷ concurrency): ${(ideal / 1000).toFixed(2)} s`);
console.log(`ratio: ${(wallMs / ideal).toFixed(3)}× (target ≤ 1.10×)`);
console.log(`timeline:\n  ${timeline.join('\n  ')}`);
