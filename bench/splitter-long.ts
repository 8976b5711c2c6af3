/**
 * Long inputs on AWS: the splitter's wall time, CPU and ephemeral-storage (/tmp) peak for hours of audio,
 * read the way the Lambda reads it: a presigned URL on an S3 emulator (s3rver), ffprobe/ffmpeg seeking with
 * range requests, nothing downloaded. The split stage is the one the splitter Lambda runs (`splitJob`).
 *
 *   node --import tsx bench/splitter-long.ts                 # 1 h and 2 h
 *   node --import tsx bench/splitter-long.ts --hours 1,2,24  # add the 24-hour goal (≈ 1.4 GB input)
 *
 * Input: the 10-minute tone-speech fixture (44.1 kHz stereo 128 kb/s mp3) looped with `-stream_loop`
 * (stream copy, so generating 24 h takes seconds), cached under $TMPDIR/voxpipe-fixtures.
 * Chunk audio puts are counted and discarded (s3rver's disk is not S3's bandwidth; the upload is projected
 * separately in BENCHMARKS.md); every other object (status, manifest) goes to s3rver. "/tmp peak" is the
 * largest total size of the split's work directory, sampled every 250 ms. CPU: Node's own, and ffmpeg's
 * (children's user+sys from /proc/self/stat, counted when they exit).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { presignedInput } from '../functions/lib/s3-input.js';
import { createFfmpegAudioTools } from '../shared/adapters/ffmpeg-audio.js';
import { createS3Store } from '../shared/adapters/s3-store.js';
import type { ChunkTask } from '../shared/core/types.js';
import type { BlobStore, Logger } from '../shared/ports.js';
import { createTranscriber } from '../shared/providers/index.js';
import { splitJob } from '../shared/stages/split.js';
import { startS3Emulator } from '../test/aws/emulators.js';
import { ffmpeg, fixtureDir, toneSpeechFixture } from '../test/fixtures/audio.js';
import { toolPathsOf } from '../shared/config.js';

const hoursArg = process.argv.indexOf('--hours');
const HOURS = (hoursArg > 0 ? process.argv[hoursArg + 1]! : '1,2').split(',').map(Number);
const BUCKET = 'voxpipe-bench';
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function loopedMp3(seconds: number): Promise<string> {
  const ten = (await toneSpeechFixture({ seed: 3, durationSeconds: 600, format: 'mp3' })).path;
  const path = join(await fixtureDir(), `bench-long-${seconds}s.mp3`);
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path}…\n`);
    await ffmpeg(['-stream_loop', String(Math.ceil(seconds / 600) - 1), '-i', ten, '-t', String(seconds), '-c', 'copy', '-f', 'mp3', `${path}.tmp`]);
    execFileSync('mv', [`${path}.tmp`, path]);
  }
  return path;
}

/** Children's CPU seconds so far (user + sys of waited-for children), from /proc/self/stat. */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime (fields 16, 17), USER_HZ = 100
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

async function main() {
  const s3rver = await startS3Emulator([]);
  const s3 = s3rver.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const s3Store = createS3Store({ client: s3, bucket: BUCKET });
  const audio = createFfmpegAudioTools(toolPathsOf(process.env));
  const capabilities = createTranscriber({ provider: 'mistral', model: 'voxtral-mini-latest' }).capabilities;
  const rows: string[] = [];
  try {
    for (const hours of HOURS) {
      const input = await loopedMp3(hours * 3600);
      const size = (await stat(input)).size;
      const key = `inbox/long-${hours}h.mp3`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(input), ContentLength: size }));
      let flacBytes = 0;
      let messages = 0;
      // Chunk audio is counted, not stored (see the header); everything else goes to the emulator.
      const store: BlobStore = {
        ...s3Store,
        put: async (k, body, opts) => {
          if (k.endsWith('.flac')) flacBytes += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
          else await s3Store.put(k, body, opts);
        },
      };
      const workDir = await mkdtemp(join(tmpdir(), 'voxpipe-bench-long-'));
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, dirBytes(workDir));
      }, 250);
      const cpu0 = process.cpuUsage();
      const child0 = childCpuSeconds();
      const t0 = performance.now();
      const url = await presignedInput(s3, BUCKET, key);
      const manifest = await splitJob(
        { jobId: `bench-${hours}h`, source: `s3://${BUCKET}/${key}`, name: `long-${hours}h`, localPath: url, options: { provider: 'mistral', model: 'voxtral-mini-latest', chunkSeconds: 120, words: false, diarize: false, timestamps: 'auto' } },
        {
          store,
          audio,
          queue: {
            send: async (tasks: readonly ChunkTask[]) => {
              messages += tasks.length;
            },
          },
          capabilities,
          workDir,
          logger: quiet,
          notifier: { notify: async () => undefined },
          onJobReady: async () => undefined,
          parallelism: 8,
        },
      );
      const wall = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      peak = Math.max(peak, dirBytes(workDir));
      const nodeCpu = (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6;
      const ffmpegCpu = childCpuSeconds() - child0;
      await rm(workDir, { recursive: true, force: true });
      if (!manifest) throw new Error(`${hours} h: the split rejected the input`);
      const row = `| ${hours} h | ${(size / 1e6).toFixed(0)} MB | ${wall.toFixed(1)} s | ${(wall / hours).toFixed(1)} s | ${ffmpegCpu.toFixed(1)} s | ${nodeCpu.toFixed(1)} s | ${(peak / 1e6).toFixed(0)} MB | ${manifest.plan.chunks.length} / ${messages} | ${(flacBytes / 1e6).toFixed(0)} MB |`;
      rows.push(row);
      process.stderr.write(`${row}  (load ${loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
    }
  } finally {
    s3.destroy();
    await s3rver.close();
  }
  console.log(`${cpus().length}× ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  console.log('| audio | input | split wall | per audio hour | ffmpeg CPU | node CPU | /tmp peak | chunks / messages | chunk FLAC |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

await main();
