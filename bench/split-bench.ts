/**
 * Split benchmark: wall time of probe + analyze + encode-all-chunks against a plain
 * `ffmpeg -i in.mp3 -ar 16000 -ac 1 out.flac`, and peak RSS of the split for 10 min vs 10 h of input.
 *
 *   node --import tsx bench/split-bench.ts            # full run (generates ~600 MB of cached mp3 on first run)
 *   node --import tsx bench/split-bench.ts --quick    # 60-min timing only, no 10-h file
 *   node --import tsx bench/split-bench.ts --rounds 5 # best of 5 (default 3)
 *
 * Inputs are tone speech (test/fixtures/tone-speech.ts), 44.1 kHz stereo 128 kb/s mp3, cached under
 * $TMPDIR/voxpipe-fixtures. The 60-min and 10-h files loop the 10-min one (`-stream_loop`, stream copy).
 * Each split runs in a child process under `/usr/bin/time -v`: "node RSS" is the Node process's own peak,
 * "tree RSS" is the larger of that and the largest ffmpeg it ran (Linux reports the max over waited children).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { planOptionsFor } from '../shared/core/plan-options.js';
import { planChunks } from '../shared/core/plan.js';
import type { PlanOptions } from '../shared/core/types.js';
import { ffmpeg, fixtureDir, toneSpeechFixture } from '../test/fixtures/audio.js';
import { toolPathsOf } from '../shared/config.js';

type PlanMode = 'provider' | 'cut-plan';

/** Chunking for a provider with timestamps (Voxtral-like: 10-min target, 15-min max) and for cut-plan timing (≤ 30 s). */
const PLANS: Record<PlanMode, PlanOptions> = {
  provider: { targetSeconds: 600, maxSeconds: 900, overlapSeconds: 2, minPauseSeconds: 0.3 },
  'cut-plan': planOptionsFor({ timestamps: false, maxUploadBytes: 25 * 1024 * 1024, maxAudioSeconds: 900 }, 600),
};

interface SplitFigures {
  readonly probeMs: number;
  readonly analyzeMs: number;
  readonly encodeMs: number;
  readonly totalMs: number;
  readonly chunks: number;
  readonly flacBytes: number;
  readonly nodeMaxRssMb: number;
}

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [, , , input = '', mode = 'provider', concurrency = '2'] = process.argv;
  process.stdout.write(`${JSON.stringify(await split(input, mode as PlanMode, Number(concurrency)))}\n`);
} else {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]);
  await main(process.argv.includes('--quick'), process.argv.includes('--rounds') && rounds > 0 ? rounds : 3);
}

async function main(quick: boolean, rounds: number): Promise<void> {
  const ten = await inputFile(600);
  const sixty = await inputFile(3600);

  console.log(`split bench — ${sixty} (60 min, 44.1 kHz stereo mp3), ${cpuNote()}`);
  const plain: number[] = [];
  const keep: Record<string, SplitFigures> = {};
  for (let round = 0; round < rounds; round++) {
    plain.push(await timePlainFfmpeg(sixty));
    for (const mode of ['provider', 'cut-plan'] as const) {
      for (const c of [1, 2]) {
        const key = `${mode} c=${c}`;
        const { figures } = await runChild(sixty, mode, c);
        if (keep[key] === undefined || figures.totalMs < keep[key].totalMs) keep[key] = figures;
      }
    }
  }
  const base = Math.min(...plain);
  console.log(`\n60-min mp3: split wall time vs plain \`ffmpeg -i in.mp3 -ar 16000 -ac 1 out.flac\` (best of ${rounds})`);
  console.log(table(
    ['run', 'chunks', 'probe', 'analyze', 'encode', 'total', 'ratio'],
    [
      ['plain ffmpeg → flac', '1', '', '', '', sec(base), '1.00×'],
      ...Object.entries(keep).map(([key, f]) => [
        `split, ${key}`, String(f.chunks), sec(f.probeMs), sec(f.analyzeMs), sec(f.encodeMs), sec(f.totalMs), `${(f.totalMs / base).toFixed(2)}×`,
      ]),
    ],
  ));

  const sizes: [string, string][] = [['10 min', ten], ['60 min', sixty]];
  if (!quick) sizes.push(['10 h', await inputFile(36_000)]);
  const rows: string[][] = [];
  for (const [label, file] of sizes) {
    const { figures, treeMaxRssMb, wallMs } = await runChild(file, 'provider', 2);
    rows.push([label, String(figures.chunks), sec(figures.totalMs), sec(wallMs), `${figures.nodeMaxRssMb.toFixed(0)} MB`, `${treeMaxRssMb.toFixed(0)} MB`]);
  }
  console.log('\nPeak RSS of the split (provider plan, concurrency 2)');
  console.log(table(['input', 'chunks', 'split', 'child wall', 'node RSS', 'tree RSS (max of node, ffmpeg)'], rows));
}

/** probe + analyze + encode every non-silent chunk, `concurrency` encodes at a time. */
async function split(input: string, mode: PlanMode, concurrency: number): Promise<SplitFigures> {
  const tools = createFfmpegAudioTools(toolPathsOf(process.env));
  const workDir = await mkdtemp(join(await fixtureDir(), 'bench-work-'));
  try {
    const t0 = performance.now();
    const probe = await tools.probe(input);
    const t1 = performance.now();
    const { pauses, workPath } = await tools.analyze(input, { workDir, noiseDb: -35, minSilenceSeconds: PLANS[mode].minPauseSeconds });
    const t2 = performance.now();
    const plan = planChunks(probe.durationSeconds, pauses, PLANS[mode]);
    const todo = plan.chunks.filter((c) => !c.silent);
    let next = 0;
    let flacBytes = 0;
    const worker = async () => {
      while (next < todo.length) {
        const chunk = todo[next++];
        if (chunk === undefined) return;
        flacBytes += (await tools.encodeChunk(workPath, chunk.start, chunk.end)).byteLength;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const t3 = performance.now();
    return {
      probeMs: t1 - t0,
      analyzeMs: t2 - t1,
      encodeMs: t3 - t2,
      totalMs: t3 - t0,
      chunks: todo.length,
      flacBytes,
      nodeMaxRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function runChild(input: string, mode: PlanMode, concurrency: number): Promise<{ figures: SplitFigures; treeMaxRssMb: number; wallMs: number }> {
  const started = performance.now();
  const { stdout, stderr } = await exec('/usr/bin/time', ['-v', process.execPath, '--import', 'tsx', self, '--child', input, mode, String(concurrency)]);
  const wallMs = performance.now() - started;
  const figures = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as SplitFigures;
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  return { figures, treeMaxRssMb: kb / 1024, wallMs };
}

async function timePlainFfmpeg(input: string): Promise<number> {
  const dir = await mkdtemp(join(await fixtureDir(), 'bench-plain-'));
  try {
    const t0 = performance.now();
    await ffmpeg(['-i', input, '-ar', '16000', '-ac', '1', join(dir, 'out.flac')]);
    return performance.now() - t0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** 10 min of tone speech; longer inputs loop it with stream copy (fast to make). Cached. */
async function inputFile(seconds: number): Promise<string> {
  const { path: ten } = await toneSpeechFixture({ seed: 42, durationSeconds: 600, format: 'mp3', sampleRate: 44_100, channels: 2 });
  if (seconds === 600) return ten;
  const path = join(await fixtureDir(), `bench-tone-${seconds}s.mp3`);
  if (!existsSync(path)) {
    const tmp = `${path}.tmp.mp3`;
    process.stderr.write(`generating ${path}…\n`);
    await ffmpeg(['-stream_loop', String(Math.ceil(seconds / 600) - 1), '-i', ten, '-c', 'copy', '-f', 'mp3', tmp]);
    await exec('mv', [tmp, path]);
  }
  return path;
}

function exec(bin: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${bin} exited ${code}: ${stderr.slice(-1000)}`))));
  });
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function cpuNote(): string {
  return `${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}, load ${loadavg()[0]?.toFixed(1)}`;
}
