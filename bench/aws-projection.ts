/**
 * Projected end-to-end time of a 1-hour file on AWS at concurrency 8 / 32 / 100, and infra cost per
 * audio hour, from the split stage measured locally plus documented AWS latencies and prices.
 *
 *   node --import tsx bench/aws-projection.ts [--minutes 10] [--model-ms-per-second 20] [--model-base-ms 300]
 *
 * Measured here: the real split stage (ffprobe, decode + silence detection, FLAC per chunk) on
 * `--minutes` of tone speech (mp3), scaled linearly to 60 minutes. Everything else is the model below;
 * every input is printed with the tables so the projection can be checked and re-run with other numbers.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { createFsStore } from '../shared/adapters/fs-store.js';
import { jobKeys } from '../shared/core/keys.js';
import type { ChunkTask } from '../shared/core/types.js';
import { createTranscriber } from '../shared/providers/index.js';
import { splitJob } from '../shared/stages/split.js';
import { toneSpeechFixture } from '../test/fixtures/audio.js';
import { toolPathsOf } from '../shared/config.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'model-base-ms': { type: 'string', default: '300' },
    'model-ms-per-second': { type: 'string', default: '20' },
  },
});
const minutes = Number(values.minutes);
const scale = 60 / minutes;

/** Documented or typical AWS figures (us-east-1, x86_64), in ms unless noted. */
const AWS = {
  s3EventToSqs: 1000, // S3 event notification delivery: typically < 1 s
  esmPickup: 300, // SQS event source mapping long-poll pickup
  coldStartSplitter: 1200, // Node 22, ~1.1 MB bundle + 147 MB layer (layer is on local disk, not loaded)
  coldStartSmall: 700, // Node 22, ~1 MB bundle
  s3Request: 30, // PUT/GET/HEAD/LIST of a small object, same region
  s3ThroughputMBps: 90, // single-stream GET into /tmp
  sqsBatchSend: 20,
  lambdaCpuFactor: 1.3, // a 3008 MB Lambda core vs this machine's core (conservative)
};
/** Prices (us-east-1, on-demand, 2026 list). */
const PRICE = {
  lambdaGbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  s3GbMonth: 0.023,
  sqsRequest: 0.4 / 1e6,
  eventBridgeEvent: 1 / 1e6,
  secretsCall: 0.05 / 10_000,
};
const MEMORY_GB = { splitter: 3008 / 1024, transcriber: 1, aggregator: 1 };
const modelMs = (audioSeconds: number) => Number(values['model-base-ms']) + Number(values['model-ms-per-second']) * audioSeconds;

// --- measure the split stage locally --------------------------------------------------------------
const fixture = await toneSpeechFixture({ seed: 90, durationSeconds: minutes * 60, format: 'mp3' });
const sourceMB = (statSync(fixture.path).size / 1e6) * scale;
const capabilities = createTranscriber({ provider: 'mistral', model: 'voxtral-mini-latest' }).capabilities;

interface SplitMeasure {
  chunkSeconds: number;
  splitMs: number;
  chunks: number;
  flacMB: number;
}
const measures: SplitMeasure[] = [];
for (const chunkSeconds of [30, 60, 120, 600]) {
  const dir = mkdtempSync(join(tmpdir(), 'voxpipe-bench-'));
  try {
    const store = createFsStore(join(dir, 'store'));
    let chunks = 0;
    const started = performance.now();
    const manifest = await splitJob(
      {
        jobId: `bench-${chunkSeconds}`,
        source: fixture.path,
        name: 'bench',
        localPath: fixture.path,
        options: { provider: 'mistral', model: 'voxtral-mini-latest', chunkSeconds, words: false, diarize: false, timestamps: 'auto' },
      },
      {
        store,
        audio: createFfmpegAudioTools(toolPathsOf(process.env)),
        queue: {
          send: async (m: readonly ChunkTask[]) => {
            chunks += m.length;
          },
        },
        capabilities,
        workDir: dir,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        notifier: { notify: async () => undefined },
        onJobReady: async () => undefined,
      },
    );
    const splitMs = performance.now() - started;
    let flacBytes = 0;
    for await (const key of store.list(jobKeys(`bench-${chunkSeconds}`).audioPrefix)) flacBytes += (await store.get(key)).byteLength;
    measures.push({ chunkSeconds, splitMs: splitMs * scale, chunks: Math.round((manifest?.pending.length ?? chunks) * scale), flacMB: (flacBytes / 1e6) * scale });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- project ----------------------------------------------------------------------------------------
function project(m: SplitMeasure, concurrency: number) {
  const chunkAudio = 3600 / m.chunks;
  const splitter =
    AWS.s3EventToSqs + AWS.esmPickup + AWS.coldStartSplitter + (sourceMB / AWS.s3ThroughputMBps) * 1000 + m.splitMs * AWS.lambdaCpuFactor +
    m.chunks * AWS.s3Request /* chunk PUTs, sequential in the stage */ + Math.ceil(m.chunks / 10) * AWS.sqsBatchSend;
  const perChunk = AWS.s3Request * 4 /* HEAD result, GET audio, PUT result, LIST results */ + modelMs(chunkAudio);
  const waves = Math.ceil(m.chunks / concurrency);
  const transcribe = AWS.esmPickup + AWS.coldStartSmall + waves * perChunk;
  const aggregate = AWS.sqsBatchSend + AWS.esmPickup + AWS.coldStartSmall + AWS.s3Request * (2 + Math.ceil(m.chunks / 8)) + AWS.s3Request * 5;
  return { splitter, transcribe, aggregate, total: splitter + transcribe + aggregate };
}

function cost(m: SplitMeasure) {
  const chunkAudio = 3600 / m.chunks;
  const splitterS = (AWS.coldStartSplitter + (sourceMB / AWS.s3ThroughputMBps) * 1000 + m.splitMs * AWS.lambdaCpuFactor + m.chunks * AWS.s3Request) / 1000;
  const transcriberS = (m.chunks * (AWS.s3Request * 4 + modelMs(chunkAudio))) / 1000;
  const aggregatorS = (AWS.s3Request * (m.chunks + 10)) / 1000 + 0.5;
  const lambda =
    (splitterS * MEMORY_GB.splitter + transcriberS * MEMORY_GB.transcriber + aggregatorS * MEMORY_GB.aggregator) * PRICE.lambdaGbSecond +
    (m.chunks + 2) * PRICE.lambdaRequest;
  const puts = m.chunks * 2 + 10; // chunk audio + chunk result; manifest, status ×4, claims, 4 results
  const gets = m.chunks * 4 + m.chunks + 10; // audio GET, result HEAD ×2, LIST (billed as PUT-class; counted below), aggregate GETs
  const lists = m.chunks;
  const s3 = puts * PRICE.s3Put + lists * PRICE.s3Put + gets * PRICE.s3Get + (m.flacMB / 1000) * PRICE.s3GbMonth * (7 / 30);
  const sqs = (Math.ceil(m.chunks / 10) + m.chunks * 2 + 6) * PRICE.sqsRequest;
  const other = PRICE.eventBridgeEvent + Math.min(m.chunks, 32) * PRICE.secretsCall;
  return { lambda, s3, sqs, other, total: lambda + s3 + sqs + other };
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(`\nSplit stage, measured on ${minutes} min of tone speech (mp3), scaled ×${scale.toFixed(1)} to 1 h; source ${sourceMB.toFixed(0)} MB/h`);
console.table(measures.map((m) => ({ chunkSeconds: m.chunkSeconds, chunks: m.chunks, 'split (local)': fmtS(m.splitMs), 'chunk FLAC MB': m.flacMB.toFixed(1) })));

console.log(`Projected end-to-end time for 1 h of audio (model latency ${values['model-base-ms']} ms + ${values['model-ms-per-second']} ms per audio second)`);
const rows = [];
for (const m of measures) {
  for (const c of [8, 32, 100]) {
    const p = project(m, c);
    rows.push({ chunkSeconds: m.chunkSeconds, concurrency: c, splitter: fmtS(p.splitter), transcribe: fmtS(p.transcribe), aggregate: fmtS(p.aggregate), total: fmtS(p.total) });
  }
}
console.table(rows);

console.log('Infra cost per audio hour, model excluded (USD)');
console.table(measures.map((m) => {
  const c = cost(m);
  return { chunkSeconds: m.chunkSeconds, lambda: c.lambda.toFixed(5), s3: c.s3.toFixed(5), sqs: c.sqs.toFixed(6), 'eventbridge+secrets': c.other.toFixed(6), total: c.total.toFixed(5) };
}));
console.log('Inputs:', JSON.stringify({ AWS, PRICE, MEMORY_GB }, null, 1));
