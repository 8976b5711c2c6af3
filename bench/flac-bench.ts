/**
 * `node --import tsx bench/flac-bench.ts`: the in-process FLAC encoder against one ffmpeg process per chunk,
 * for the chunk sizes the planner makes (30 s cut-plan chunks, 120 s default, 600 s provider plan).
 * Input: 16 kHz mono s16 speech-like noise (bursts and pauses). Median of 5 per size. See
 * docs/decisions/0001-in-process-flac-encoder.md.
 */
import { spawn } from 'node:child_process';
import { encodeFlac16kMono } from '../shared/adapters/flac-encoder.js';
import { resolveFfmpegBinaries } from '../shared/adapters/ffmpeg-binaries.js';
import { toolPathsOf } from '../shared/config.js';

function speechLike(seconds: number, seed = 7): Int16Array {
  const pcm = new Int16Array(seconds * 16_000);
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return (s / 0x7fffffff) * 2 - 1;
  };
  for (let i = 0; i < pcm.length; i++) {
    const t = i / 16_000;
    const voiced = Math.sin(t * 1.7) > -0.2; // talk with pauses
    pcm[i] = voiced ? Math.round(6000 * Math.sin(2 * Math.PI * 180 * t) * (0.6 + 0.4 * Math.sin(t * 9)) + 900 * rnd()) : Math.round(40 * rnd());
  }
  return pcm;
}

function ffmpegFlac(ffmpeg: string, pcm: Int16Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpeg, ['-v', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-c:a', 'flac', '-f', 'flac', 'pipe:1']);
    let bytes = 0;
    p.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`ffmpeg exited ${code}`))));
    p.stdin.end(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { ffmpeg } = await resolveFfmpegBinaries(toolPathsOf(process.env));
console.log('| chunk | in-process encode | bytes | ffmpeg process (spawn + encode) | bytes |');
console.log('|---|---|---|---|---|');
for (const seconds of [30, 120, 600]) {
  const pcm = speechLike(seconds);
  const inProc: number[] = [];
  const viaFfmpeg: number[] = [];
  let a = 0;
  let b = 0;
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    a = encodeFlac16kMono(pcm).length;
    inProc.push(performance.now() - t);
    t = performance.now();
    b = await ffmpegFlac(ffmpeg, pcm);
    viaFfmpeg.push(performance.now() - t);
  }
  console.log(`| ${seconds} s | ${median(inProc).toFixed(1)} ms | ${a} | ${median(viaFfmpeg).toFixed(1)} ms | ${b} |`);
}
