/**
 * The ffmpeg the stack deploys: the Lambda layer is built from `@ffmpeg-installer/linux-x64` (a 2018 build,
 * libavutil 56 ≈ ffmpeg 4.1) and `@ffprobe-installer/linux-x64`. These tests run those exact binaries on real
 * audio, through the real split, and check that an ffmpeg that cannot work is an infrastructure fault, never a
 * verdict on the user's file.
 */
import { chmod, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { checkFfmpeg, FfmpegUnusableError } from '../../shared/adapters/ffmpeg-capabilities.js';
import { InfrastructureError, PermanentError, TransientError } from '../../shared/core/errors.js';
import type { Pause } from '../../shared/core/types.js';
import { randomBytesFile, scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones, type ToneFormat, truthPauses } from '../fixtures/tone-speech.js';
import { startLocalRun, transcriptWords } from '../e2e/local-harness.js';

const require = createRequire(import.meta.url);
/** The binaries `FfmpegLayer` copies into the layer (same resolution as `infra/constructs/ffmpeg-layer.ts`). */
const LAYER = {
  ffmpeg: join(dirname(require.resolve('@ffmpeg-installer/linux-x64/package.json')), 'ffmpeg'),
  ffprobe: join(dirname(require.resolve('@ffprobe-installer/linux-x64/package.json')), 'ffprobe'),
};
const ANALYZE = { noiseDb: -35, minSilenceSeconds: 0.3 } as const;

let scratch: string;
beforeAll(async () => {
  scratch = await scratchDir('ffmpeg-layer');
  // npm does not always keep the mode bits; the layer construct sets 0755 the same way.
  await chmod(LAYER.ffmpeg, 0o755);
  await chmod(LAYER.ffprobe, 0o755);
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A shell script standing in for ffmpeg: `body` runs with the real binary as $REAL. */
async function wrapper(name: string, body: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, `#!/bin/sh\nREAL='${LAYER.ffmpeg}'\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe("the layer's ffmpeg (@ffmpeg-installer/linux-x64)", () => {
  it('is the 2018 build without -stats_period, and the capability check says so', async () => {
    const caps = await checkFfmpeg(LAYER);
    expect(caps.libavutil).toMatch(/^56\./);
    expect(caps.statsPeriod).toBe(false);
  });

  const FORMATS: readonly ToneFormat[] = ['wav', 'mp3', 'm4a', 'ogg', 'opus', 'flac', 'mp4'];
  it.each(FORMATS)('analyzes %s with progress reports (as the splitter does) and finds the pauses within 50 ms', async (format) => {
    const tools = createFfmpegAudioTools({ ffmpegPath: LAYER.ffmpeg, ffprobePath: LAYER.ffprobe });
    const { path, words } = await toneSpeechFixture({ seed: 31, durationSeconds: 20, format, sampleRate: 44_100 });
    const progress: number[] = [];
    const { pauses, workPath, durationSeconds } = await tools.analyze(path, { workDir: scratch, ...ANALYZE, onProgress: (f) => progress.push(f.seconds) });
    expect(durationSeconds).toBeCloseTo(20, 1);
    expect(progress.length).toBeGreaterThan(0); // ffmpeg's fixed 0.5 s period without -stats_period
    const truth = truthPauses(words, 20, ANALYZE.minSilenceSeconds);
    for (const t of truth.filter((p) => p.end < durationSeconds - 0.1)) {
      expect(pauses.some((p: Pause) => Math.abs(p.start - t.start) < 0.05 && Math.abs(p.end - t.end) < 0.05), `pause ${t.start}–${t.end}`).toBe(true);
    }
    const chunk = await tools.encodeChunk(workPath, 0, durationSeconds);
    expect((await recognizeTones(chunk)).map((w) => w.word)).toEqual(words.map((w) => w.word));
  });

  it('runs the whole local split → transcribe → aggregate on a 3-minute mp3, every word once', async () => {
    const saved = { ffmpeg: process.env.VOXPIPE_FFMPEG, ffprobe: process.env.VOXPIPE_FFPROBE };
    process.env.VOXPIPE_FFMPEG = LAYER.ffmpeg;
    process.env.VOXPIPE_FFPROBE = LAYER.ffprobe;
    const run = await startLocalRun({ vendor: 'openai-compatible', chunkSeconds: 30 });
    try {
      const { path, words } = await toneSpeechFixture({ seed: 32, durationSeconds: 180, format: 'mp3', runOn: [{ start: 60, seconds: 50 }] });
      const t = await run.transcribe(path);
      expect(t.status).toBe('completed');
      expect(t.chunks.length).toBeGreaterThan(4);
      expect(transcriptWords(t)).toEqual(words.map((w) => w.word));
    } finally {
      await run.close();
      process.env.VOXPIPE_FFMPEG = saved.ffmpeg;
      process.env.VOXPIPE_FFPROBE = saved.ffprobe;
      if (saved.ffmpeg === undefined) delete process.env.VOXPIPE_FFMPEG;
      if (saved.ffprobe === undefined) delete process.env.VOXPIPE_FFPROBE;
    }
  });

  it('still calls a corrupt upload a bad file', async () => {
    const tools = createFfmpegAudioTools({ ffmpegPath: LAYER.ffmpeg, ffprobePath: LAYER.ffprobe });
    const err = await tools.analyze(await randomBytesFile('broken.mp3'), { workDir: scratch, ...ANALYZE, onProgress: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/^broken\.mp3: /);
  });
});

describe('an ffmpeg that cannot work is an infrastructure fault, not a bad file', () => {
  async function analyzeWith(ffmpegPath: string, opts: { ffprobePath?: string; workDir?: string; file?: string } = {}): Promise<unknown> {
    const tools = createFfmpegAudioTools({ ffmpegPath, ffprobePath: opts.ffprobePath ?? LAYER.ffprobe });
    const file = opts.file ?? (await toneSpeechFixture({ seed: 33, durationSeconds: 8, format: 'mp3' })).path;
    return tools.analyze(file, { workDir: opts.workDir ?? scratch, ...ANALYZE, onProgress: () => {} }).catch((e: unknown) => e);
  }

  function expectInfrastructure(err: unknown, message: RegExp): void {
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(err).toBeInstanceOf(TransientError); // retried through the queue
    expect(err).not.toBeInstanceOf(PermanentError);
    expect((err as Error).message).not.toMatch(/corrupt|unsupported|not an audio file/);
    expect((err as Error).message).toMatch(message);
  }

  it('a missing binary', async () => {
    const err = await analyzeWith(join(scratch, 'no-such-ffmpeg'));
    expect(err).toBeInstanceOf(FfmpegUnusableError);
    expectInfrastructure(err, /no-such-ffmpeg/);
  });

  it('a binary that is not ffmpeg', async () => {
    const err = await analyzeWith(await wrapper('not-ffmpeg', 'echo "hello"'));
    expect(err).toBeInstanceOf(FfmpegUnusableError);
    expectInfrastructure(err, /is not ffmpeg/);
  });

  it('an ffmpeg without a filter the split needs (silencedetect)', async () => {
    const path = await wrapper('no-silencedetect', 'if [ "$2" = "-filters" ]; then "$REAL" "$@" | grep -v silencedetect; else exec "$REAL" "$@"; fi');
    expectInfrastructure(await analyzeWith(path), /lacks filter silencedetect/);
  });

  it('an ffmpeg that rejects an option of the decode (as 4.1 rejected -stats_period)', async () => {
    // Passes the capability check, then refuses the real command line.
    const path = await wrapper('bad-option', 'case "$*" in *silencedetect*) exec "$REAL" -no_such_option 1 "$@";; *) exec "$REAL" "$@";; esac');
    expectInfrastructure(await analyzeWith(path), /Unrecognized option 'no_such_option'/);
  });

  it('an ffmpeg killed mid-decode (out of memory, timeout)', async () => {
    const path = await wrapper('killed', 'case "$*" in *silencedetect*) kill -9 $$;; *) exec "$REAL" "$@";; esac');
    expectInfrastructure(await analyzeWith(path), /killed by SIGKILL/);
  });

  it('a full disk (ENOSPC while writing the working copy)', async () => {
    const { path: file } = await toneSpeechFixture({ seed: 33, durationSeconds: 8, format: 'mp3' });
    const workDir = await scratchDir('enospc');
    await symlink('/dev/full', join(workDir, `${basename(file)}.16k.s16le`));
    expectInfrastructure(await analyzeWith(LAYER.ffmpeg, { workDir, file }), /No space left on device/);
    await rm(workDir, { recursive: true, force: true });
  });

  it('an ffprobe killed while probing', async () => {
    const probe = join(scratch, 'killed-probe');
    await writeFile(probe, `#!/bin/sh\ncase "$*" in *-show_streams*) kill -9 $$;; *) exec '${LAYER.ffprobe}' "$@";; esac\n`);
    await chmod(probe, 0o755);
    expectInfrastructure(await analyzeWith(LAYER.ffmpeg, { ffprobePath: probe }), /ffprobe was killed/);
  });

  it('checks the binaries once per tools object', async () => {
    const counter = join(scratch, 'checks');
    await writeFile(counter, '');
    const path = await wrapper('counting', `case "$*" in *-version*) echo x >> '${counter}';; esac\nexec "$REAL" "$@"`);
    const tools = createFfmpegAudioTools({ ffmpegPath: path, ffprobePath: LAYER.ffprobe });
    await tools.check();
    await tools.check();
    await analyzeWith(path);
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toHaveLength(1 + 1); // this tools object once, analyzeWith's own once
  });
});
