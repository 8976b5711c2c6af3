/**
 * WER through the pipeline under noise, per pause finder. Real speech (the LibriVox sample of pocketsphinx-testdata,
 * and espeak-ng passages in four voices and speeds; test/fixtures/noisy-speech.ts) mixed with pink noise, brown
 * noise, mains hum or a music bed at 30, 20 and 10 dB SNR, and clean, goes through the embedded pipeline (the CLI's
 * composition root, cli/local-pipeline.ts) with the offline PocketSphinx provider (what `npm run demo` uses) and
 * short chunks (`--chunk-seconds`, default 20), once per pause finder:
 * - `energy`, `silero`, `auto`: `VOXPIPE_PAUSES`;
 * - `fixed`: the energy detector at a fixed −35 dB (what the splitter did before issue 12; no longer selectable,
 *   injected here as the audio tools) — the broken finder, for reference;
 * - `whole`: the same pipeline with one chunk for the whole file: what the recognizer makes of the audio with no
 *   cut at all, the floor the chunked runs are measured against.
 * WER is against the reference text (LibriVox's transcription file; the text given to espeak-ng), over words
 * lower-cased and stripped of punctuation (test/fixtures/wer.ts). "cuts in speech": chunk starts that fall outside
 * every true (inserted) gap.
 *
 *   npm run bench:noise-wer                                    # 2 sources × (clean + 4 noises × 3 SNRs) × 5 runs
 *   npm run bench:noise-wer -- --sources librivox --noises hum,music --snrs 10 --finders auto,fixed
 *   npm run bench:noise-wer -- --parallel 1 --chunk-seconds 30
 *   npm run bench:noise-wer -- --json r.json    # results written after each run; a rerun skips the runs in r.json
 *   npm run bench:noise-wer -- --json r.json --report   # the tables from r.json, no run
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import pLimit from 'p-limit';
import { createLocalPipeline } from '../cli/local-pipeline.js';
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { loadConfig } from '../shared/config.js';
import type { Transcript } from '../shared/core/types.js';
import type { AudioTools } from '../shared/ports.js';
import { silentLogger, transcriptWords } from '../test/e2e/local-harness.js';
import { scratchDir } from '../test/fixtures/audio.js';
import { cleanSpeech, type NoiseKind, noisySpeech, type SpeechSource, speechAvailable } from '../test/fixtures/noisy-speech.js';
import { wordErrorRate } from '../test/fixtures/wer.js';

type Finder = 'whole' | 'fixed' | 'energy' | 'silero' | 'auto';
const LABEL: Record<Finder, string> = { whole: 'whole file (floor)', fixed: 'fixed −35 dB', energy: 'energy', silero: 'Silero', auto: 'auto (default)' };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const list = <T extends string>(name: string, fallback: readonly T[]): T[] => (arg(name)?.split(',') as T[] | undefined) ?? [...fallback];
const SOURCES = list<SpeechSource>('sources', ['librivox', 'espeak']).filter(speechAvailable);
const NOISES = list<NoiseKind | 'clean'>('noises', ['clean', 'pink', 'brown', 'hum', 'music']);
const SNRS = list('snrs', ['30', '20', '10']).map(Number);
// `silero` is left out by default: on speech `auto` picks Silero (recorded per run below), so it would repeat the
// `auto` run; `fixed` is the old behaviour. Both with `--finders whole,fixed,energy,silero,auto`.
const FINDERS = list<Finder>('finders', ['whole', 'energy', 'auto']);
const CHUNK_SECONDS = Number(arg('chunk-seconds') ?? 20);
const PARALLEL = Number(arg('parallel') ?? 2);

/** The energy detector at a fixed threshold, whatever the split stage asks for. */
function fixedThreshold(tools: AudioTools, noiseDb: number): AudioTools {
  return { ...tools, analyze: (path, opts) => tools.analyze(path, { ...opts, noiseDb }) };
}

interface Result {
  source: SpeechSource;
  noise: NoiseKind | 'clean';
  snr: number | null;
  finder: Finder;
  wer: number;
  chunks: number;
  cuts: number;
  cutsInSpeech: number;
  /** The detector that found the pauses (what `auto` chose). */
  detector: string;
  seconds: number;
}

/** One run of the embedded pipeline on `path` with `finder`, in a fresh work dir (no cache across runs). */
async function transcribe(path: string, finder: Finder): Promise<{ t: Transcript; seconds: number; detector: string }> {
  const workDir = await scratchDir('noise-wer');
  const config = loadConfig({
    PATH: process.env.PATH,
    TMPDIR: process.env.TMPDIR,
    VOXPIPE_PROVIDER: 'offline',
    VOXPIPE_WORK_DIR: workDir,
    // One call at a time per run (the bench runs `--parallel` of them), and no chunk balancing across slots.
    VOXPIPE_CONCURRENCY: '1',
    VOXPIPE_CHUNK_SECONDS: String(finder === 'whole' ? 600 : CHUNK_SECONDS),
    VOXPIPE_TIMEOUT_SECONDS: '900',
    VOXPIPE_PAUSES: finder === 'silero' || finder === 'auto' ? finder : 'energy',
  });
  const audio = finder === 'fixed' ? fixedThreshold(createFfmpegAudioTools(config.tools), -35) : undefined;
  let detector = finder === 'fixed' || finder === 'energy' || finder === 'whole' ? 'energy' : finder;
  const logger = { ...silentLogger, info: (msg: string, extra?: Record<string, unknown>) => {
    if (msg === 'pause finder' && typeof extra?.detector === 'string') detector = extra.detector;
  } };
  const pipeline = createLocalPipeline({ config, logger, ...(audio ? { audio } : {}) });
  const started = performance.now();
  try {
    const { transcript } = await pipeline.transcribe(path, 'noisy', { words: true, diarize: false, force: true });
    return { t: transcript, seconds: (performance.now() - started) / 1000, detector };
  } finally {
    workDirs.push(workDir);
  }
}
/** Removed at the end: the pipeline may still write job records just after `transcribe` resolves. */
const workDirs: string[] = [];

/** The true pauses: the clean speech's silences (fixed detector at −40 dB, ≥ 0.3 s), which hold the inserted gaps. */
const truePauses = new Map<SpeechSource, Promise<{ start: number; end: number }[]>>();
function cleanPauses(source: SpeechSource): Promise<{ start: number; end: number }[]> {
  let p = truePauses.get(source);
  if (!p) {
    p = (async () => {
      const clean = await cleanSpeech(source);
      const workDir = await scratchDir('noise-wer-truth');
      const tools = createFfmpegAudioTools(loadConfig({ PATH: process.env.PATH, TMPDIR: process.env.TMPDIR }).tools);
      const a = await tools.analyze(clean.path, { workDir, noiseDb: -40, minSilenceSeconds: 0.3 });
      workDirs.push(workDir);
      return a.pauses;
    })();
    truePauses.set(source, p);
  }
  return p;
}

type Condition = { source: SpeechSource; noise: NoiseKind | 'clean'; snr: number | null };
const conditions: Condition[] = SOURCES.flatMap((source) =>
  NOISES.flatMap((noise): Condition[] => (noise === 'clean' ? [{ source, noise, snr: null }] : SNRS.map((snr) => ({ source, noise, snr })))),
);
const jsonOut = arg('json');
const loadBefore = loadavg()[0] ?? 0;
const startedAt = new Date();
const limit = pLimit(PARALLEL);
const earlier = jsonOut && existsSync(jsonOut) ? (JSON.parse(await readFile(jsonOut, 'utf8')) as { results: Result[]; loadBefore: number; startedAt: string }) : undefined;
const results: Result[] = earlier?.results ?? [];
const done = (c: Condition, f: Finder) => results.some((r) => r.source === c.source && r.noise === c.noise && r.snr === c.snr && r.finder === f);
const save = () =>
  jsonOut ? writeFile(jsonOut, `${JSON.stringify({ startedAt: earlier?.startedAt ?? startedAt, chunkSeconds: CHUNK_SECONDS, parallel: PARALLEL, loadBefore: earlier?.loadBefore ?? loadBefore, results }, null, 2)}\n`) : undefined;
await Promise.all(
  conditions.flatMap((c) =>
    FINDERS.filter((f) => !process.argv.includes('--report') && !done(c, f)).map((finder) =>
      limit(async () => {
        const sample = c.noise === 'clean' ? await cleanSpeech(c.source) : await noisySpeech(c.noise, c.snr ?? 0, c.source);
        const { gaps, reference } = sample;
        const quiet = await cleanPauses(c.source);
        const { t, seconds, detector } = await transcribe(sample.path, finder);
        if (t.status !== 'completed') throw new Error(`${c.source} ${c.noise} ${c.snr} ${finder}: ${t.error}`);
        const cutAt = t.chunks.slice(1).map((ch) => ch.start);
        const inSpeech = cutAt.filter((at) => !quiet.some((g) => at >= g.start - 0.05 && at <= g.end + 0.05)).length;
        const r: Result = {
          ...c,
          finder,
          wer: wordErrorRate(reference, transcriptWords(t)),
          chunks: t.chunks.length,
          cuts: cutAt.length,
          cutsInSpeech: inSpeech,
          detector,
          seconds,
        };
        results.push(r);
        await save();
        if (process.env.DEBUG_CHUNKS) process.stderr.write(`${JSON.stringify(t.chunks.map((ch) => [ch.start, ch.end]))} gaps ${JSON.stringify(gaps.map((g) => [+g.start.toFixed(2), +g.end.toFixed(2)]))}\n${transcriptWords(t).join(' ')}\n`);
        process.stderr.write(
          `${c.source} ${c.noise} ${c.snr ?? ''} ${finder} (${detector}): WER ${(r.wer * 100).toFixed(1)} %, ${r.chunks} chunks, ${inSpeech}/${r.cuts} cuts in speech, ${seconds.toFixed(1)} s\n`,
        );
      }),
    ),
  ),
);

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const find = (c: (typeof conditions)[number], f: Finder) => results.find((r) => r.source === c.source && r.noise === c.noise && r.snr === c.snr && r.finder === f);
const chunked = FINDERS.filter((f) => f !== 'whole');

console.log(
  `\nWER through the pipeline (offline PocketSphinx, --chunk-seconds ${CHUNK_SECONDS}), started ${new Date(earlier?.startedAt ?? startedAt).toISOString().slice(0, 16)} UTC, load ${(earlier?.loadBefore ?? loadBefore).toFixed(1)}${process.argv.includes('--report') ? ' at the start' : ` → ${(loadavg()[0] ?? 0).toFixed(1)}`}, parallel ${PARALLEL}, ${results.length} runs`,
);
console.log('Cells: WER (cuts inside speech / cuts).');
const autos = results.filter((r) => r.finder === 'auto');
if (autos.length) console.log(`auto chose: ${[...new Set(autos.map((r) => r.detector))].map((d) => `${d} in ${autos.filter((r) => r.detector === d).length}`).join(', ')} of ${autos.length} runs.`);
console.log('');
console.log(`| source | noise | SNR | ${FINDERS.map((f) => LABEL[f]).join(' | ')} |`);
console.log(`|---|---|---|${FINDERS.map(() => '---').join('|')}|`);
for (const c of conditions) {
  const cells = FINDERS.map((f) => {
    const r = find(c, f);
    if (!r) return '–';
    return f === 'whole' ? pct(r.wer) : `${pct(r.wer)} (${r.cutsInSpeech}/${r.cuts})`;
  });
  console.log(`| ${c.source === 'librivox' ? 'LibriVox' : 'espeak-ng'} | ${c.noise} | ${c.snr === null ? '–' : `${c.snr} dB`} | ${cells.join(' | ')} |`);
}
if (FINDERS.includes('whole')) {
  console.log('\nWER added by chunking (chunked − whole-file WER, percentage points): mean / worst over the conditions run (n)\n');
  console.log(`| source | ${chunked.map((f) => LABEL[f]).join(' | ')} |`);
  console.log(`|---|${chunked.map(() => '---').join('|')}|`);
  for (const source of SOURCES) {
    const cells = chunked.map((f) => {
      const deltas = conditions
        .filter((c) => c.source === source)
        .map((c) => (find(c, f)?.wer ?? Number.NaN) - (find(c, 'whole')?.wer ?? Number.NaN))
        .filter((d) => !Number.isNaN(d));
      if (deltas.length === 0) return '–';
      const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
      return `${(mean * 100).toFixed(1)} / ${(Math.max(...deltas) * 100).toFixed(1)} (${deltas.length})`;
    });
    console.log(`| ${source === 'librivox' ? 'LibriVox' : 'espeak-ng'} | ${cells.join(' | ')} |`);
  }
}
if (FINDERS.includes('auto') && FINDERS.includes('energy')) {
  console.log('\n`auto` against `energy`, per condition (percentage points of WER): mean difference, conditions better / equal / worse\n');
  for (const source of SOURCES) {
    const diffs = conditions
      .filter((c) => c.source === source)
      .map((c) => (find(c, 'auto')?.wer ?? Number.NaN) - (find(c, 'energy')?.wer ?? Number.NaN))
      .filter((d) => !Number.isNaN(d));
    if (diffs.length === 0) continue;
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    const eps = 1e-9;
    console.log(
      `- ${source === 'librivox' ? 'LibriVox' : 'espeak-ng'}: ${mean >= 0 ? '+' : ''}${(mean * 100).toFixed(1)} pp; ${diffs.filter((d) => d < -eps).length} / ${diffs.filter((d) => Math.abs(d) <= eps).length} / ${diffs.filter((d) => d > eps).length}`,
    );
  }
}
await Promise.all(workDirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 }).catch(() => undefined)));
