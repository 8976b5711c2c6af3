/**
 * The splitter reads uploads in place: ffprobe/ffmpeg get a presigned S3 GET URL (functions/lib/s3-input.ts)
 * and read it with HTTP range requests, seeking where the container needs it. Checked with both binaries
 * the project runs (the Lambda layer's 2018 ffmpeg 4.1 and the machine's Debian build) against s3rver,
 * through a recording proxy that shows the Range requests on the wire, including an m4a whose moov atom
 * (the index) is at the end of the file, which cannot be decoded without seeking.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presignedInput } from '../../functions/lib/s3-input.js';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { InfrastructureError, PermanentError } from '../../shared/core/errors.js';
import { FAKE_AWS, type S3Emulator, startS3Emulator } from './emulators.js';

const require = createRequire(import.meta.url);
const BINARIES = {
  'layer ffmpeg 4.1 (@ffmpeg-installer)': {
    ffmpegPath: join(dirname(require.resolve('@ffmpeg-installer/linux-x64/package.json')), 'ffmpeg'),
    ffprobePath: join(dirname(require.resolve('@ffprobe-installer/linux-x64/package.json')), 'ffprobe'),
  },
  'ffmpeg on PATH (Debian 5.1 here)': {},
} as const;
const BUCKET = 'voxpipe-ingest';

/** Forwards to s3rver (Host header kept, so signatures hold) and records each request's method, path and Range. */
async function startRecordingProxy(target: string) {
  const requests: { method: string; path: string; range?: string }[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const upstream = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      res.flushHeaders(); // s3rver answers a range on an empty object with a length and no body: pass the headers on anyway
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let scratch: string;
let s3rver: S3Emulator;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let s3: S3Client;
const files: Record<string, string> = {};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'voxpipe-ranged-'));
  // 90 s of tone bursts with pauses, as AAC in an mp4 container with the moov atom at the end (the mp4
  // muxer's default without +faststart), and the same as mp3.
  const src = 'sine=f=440:r=44100,volume=enable=\'gte(mod(t,10),7)\':volume=0';
  for (const [name, args] of [
    ['moov-at-end.m4a', ['-c:a', 'aac', '-b:a', '64k']],
    ['talk.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k']],
  ] as const) {
    files[name] = join(scratch, name);
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', src, '-t', '90', '-ac', '1', ...args, files[name]!]);
  }
  s3rver = await startS3Emulator([]);
  proxy = await startRecordingProxy(s3rver.endpoint);
  s3 = new S3Client({ ...FAKE_AWS, endpoint: proxy.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const { readFile } = await import('node:fs/promises');
  for (const [name, path] of Object.entries(files)) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `inbox/Réunion été/${name}`, Body: await readFile(path) }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inbox/empty.mp3', Body: new Uint8Array(0) }));
});

afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await s3rver?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A moov atom after the audio data: the file cannot be decoded by reading it front to back. */
function moovOffset(path: string): { moov: number; mdat: number } {
  const buf = require('node:fs').readFileSync(path) as Buffer;
  return { moov: buf.indexOf('moov'), mdat: buf.indexOf('mdat') };
}

describe.each(Object.entries(BINARIES))('%s reads a presigned S3 URL with range requests', (_label, bins) => {
  const tools = createFfmpegAudioTools(bins);

  it.each(['moov-at-end.m4a', 'talk.mp3'])('%s: same probe and analysis as from a local file, without a copy', async (name) => {
    if (name.endsWith('.m4a')) {
      const { moov, mdat } = moovOffset(files[name]!);
      expect(moov).toBeGreaterThan(mdat); // the fixture really has its index at the end
    }
    const url = await presignedInput(s3, BUCKET, `inbox/Réunion été/${name}`);
    const workDir = await mkdtemp(join(scratch, 'work-'));
    const seen = proxy.requests.length;

    const remote = await tools.probe(url);
    const analysed = await tools.analyze(url, { workDir, noiseDb: -35, minSilenceSeconds: 0.5 });
    const local = await tools.probe(files[name]!);

    expect(remote.durationSeconds).toBeCloseTo(local.durationSeconds, 1);
    expect(remote.sizeBytes).toBe((await stat(files[name]!)).size);
    expect(remote.codec).toBe(local.codec);
    expect(analysed.durationSeconds).toBeCloseTo(90, 0);
    // 9 pauses of 3 s between the bursts (the last one runs to the end)
    expect(analysed.pauses.filter((p) => p.end - p.start > 2.5).length).toBeGreaterThanOrEqual(8);
    const gets = proxy.requests.slice(seen).filter((r) => r.method === 'GET');
    expect(gets.every((r) => r.path.endsWith(encodeURIComponent(name)))).toBe(true);
    if (name.endsWith('.m4a')) {
      // Seeking: a request that starts past the beginning of the object (to the moov atom, then back).
      expect(gets.some((r) => /^bytes=[1-9]\d*-/.test(r.range ?? ''))).toBe(true);
    }
    await rm(workDir, { recursive: true, force: true });
  });

  it('an empty object is the file’s fault; a URL the store refuses is an infrastructure fault, never the file’s', async () => {
    const empty = await presignedInput(s3, BUCKET, 'inbox/empty.mp3');
    await expect(tools.probe(empty)).rejects.toThrow(PermanentError);
    await expect(tools.probe(empty)).rejects.toThrow(/empty\.mp3: empty file \(0 bytes\)/);

    // The store is unreachable (a closed port): the network's fault.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = new URL(await presignedInput(s3, BUCKET, 'inbox/Réunion été/talk.mp3'));
    url.port = String(port);
    const refused = tools.probe(url.toString());
    await expect(refused).rejects.toThrow(InfrastructureError);
    await expect(refused).rejects.toThrow(/^talk\.mp3: /);
    await expect(refused).rejects.not.toThrow(/X-Amz-Signature/); // the URL's signature never lands in a message

    const workDir = await mkdtemp(join(scratch, 'work-'));
    const gone = await presignedInput(s3, BUCKET, 'inbox/deleted-meanwhile.mp3');
    // Gone between the notification and the split (404): retried, not blamed on the file; the URL stays out of the message.
    const missing = tools.analyze(gone, { workDir, noiseDb: -35, minSilenceSeconds: 0.5 });
    await expect(missing).rejects.toThrow(InfrastructureError);
    await expect(missing).rejects.not.toThrow(/X-Amz-Signature/);
  });
});
