import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFfmpegAudioTools } from '../../shared/adapters/ffmpeg-audio.js';
import { TOOLS } from '../fixtures/tools.js';
import { resolveFfmpegBinaries } from '../../shared/adapters/ffmpeg-binaries.js';
import { InfrastructureError, PermanentError } from '../../shared/core/errors.js';
import type { Pause } from '../../shared/core/types.js';
import type { AudioTools } from '../../shared/ports.js';
import {
  decodePcm16k,
  emptyFile,
  pngFile,
  probeDuration,
  randomBytesFile,
  scratchDir,
  silenceFile,
  streamedWebm,
  textFile,
  toneSpeechFixture,
  truncatedMp3,
  zeroSampleWav,
} from '../fixtures/audio.js';
import { generateToneSpeech, PARTIAL_SUFFIX, recognizeTones, type ToneFormat, truthPauses } from '../fixtures/tone-speech.js';

const ANALYZE = { noiseDb: -35, minSilenceSeconds: 0.3 } as const;
const FORMATS: readonly ToneFormat[] = ['wav', 'mp3', 'm4a', 'ogg', 'opus', 'flac', 'webm', 'mp4', 'mov'];
const SECONDS = 12;

const adapters: [string, () => AudioTools][] = [['ffmpeg', () => createFfmpegAudioTools(TOOLS)]];

describe.each(adapters)('AudioTools contract: %s', (_name, make) => {
  const tools = make();
  let workDir: string;
  beforeAll(async () => {
    workDir = await scratchDir('audio-tools');
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  describe.each(FORMATS)('%s input', (format) => {
    it('probes duration, codec and stream layout', async () => {
      // GIVEN 12 s of tone speech at 44.1 kHz
      const { path } = await toneSpeechFixture({ seed: 11, durationSeconds: SECONDS, format, sampleRate: 44_100 });
      // WHEN
      const probe = await tools.probe(path);
      // THEN
      expect(probe.durationSeconds).toBeGreaterThan(SECONDS - 0.05);
      expect(probe.durationSeconds).toBeLessThan(SECONDS + 0.6); // video containers: the video track may run longer
      expect(probe.channels).toBe(1);
      expect(probe.sampleRate).toBeGreaterThanOrEqual(44_100); // opus always decodes at 48 kHz
      expect(probe.codec).not.toBe('unknown');
      expect(probe.sizeBytes).toBeGreaterThan(0);
    });

    it('finds the pauses of the truth within 50 ms', async () => {
      const { path, words } = await toneSpeechFixture({ seed: 11, durationSeconds: SECONDS, format, sampleRate: 44_100 });
      const { pauses, workPath } = await tools.analyze(path, { workDir, ...ANALYZE });
      const decodedSeconds = (await readFile(workPath)).byteLength / 32_000;
      expect(decodedSeconds).toBeCloseTo(SECONDS, 2);
      expectPausesMatch(clampTo(pauses, decodedSeconds), truthPauses(words, SECONDS, ANALYZE.minSilenceSeconds), 0.05);
    });
  });

  it('encodes chunks of exactly [start, end) with a correct FLAC duration header', async () => {
    // GIVEN the working copy of a wav
    const { path } = await toneSpeechFixture({ seed: 12, durationSeconds: SECONDS, format: 'wav' });
    const { workPath } = await tools.analyze(path, { workDir, ...ANALYZE });
    const work = new Int16Array((await readFile(workPath)).buffer.slice(0));
    for (const [start, end] of [[0, 3.25], [3.25, 7.0001], [7.0001, SECONDS], [1.23456, 1.5]] as const) {
      // WHEN
      const flac = await tools.encodeChunk(workPath, start, end);
      // THEN the header says the right length, and the samples are those of the span, losslessly
      expect(Math.abs((await probeDuration(flac)) - (end - start))).toBeLessThan(0.0011);
      const pcm = await decodePcm16k(flac, ['-err_detect', 'crccheck+bitstream', '-xerror']);
      const first = Math.round(start * 16_000);
      expect(pcm.length).toBe(Math.round(end * 16_000) - first);
      expect(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).equals(Buffer.from(work.buffer, first * 2, pcm.length * 2))).toBe(true);
    }
  });

  it('turns 48 kHz stereo into 16 kHz mono chunks', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 13, durationSeconds: SECONDS, format: 'wav', sampleRate: 48_000, channels: 2 });
    const probe = await tools.probe(path);
    expect(probe).toMatchObject({ sampleRate: 48_000, channels: 2 });
    const { workPath, pauses } = await tools.analyze(path, { workDir, ...ANALYZE });
    expectPausesMatch(pauses, truthPauses(words, SECONDS, ANALYZE.minSilenceSeconds), 0.05);
    const flac = await tools.encodeChunk(workPath, 2, 6);
    const streams = await ffprobeStream(flac);
    expect(streams).toMatchObject({ codec_name: 'flac', sample_rate: '16000', channels: 1 });
  });

  it('probes a container without any duration (streamed webm) by decoding it', async () => {
    const { path } = await streamedWebm(6);
    const probe = await tools.probe(path);
    expect(probe.durationSeconds).toBeCloseTo(6, 1);
    expect(probe.codec).toBe('opus');
  });

  it('reports a silence-only file as one pause covering everything', async () => {
    const path = await silenceFile(5, 'mp3');
    const { pauses } = await tools.analyze(path, { workDir, ...ANALYZE });
    expect(pauses).toHaveLength(1);
    expect(pauses[0]?.start).toBe(0);
    expect(pauses[0]?.end).toBeGreaterThan(4.95);
  });

  it('declares the missing tail of a truncated mp3 a pause, and pads chunks there with silence', async () => {
    const path = await truncatedMp3(20, 0.4);
    const probe = await tools.probe(path);
    const { pauses, workPath } = await tools.analyze(path, { workDir, ...ANALYZE });
    const last = pauses.at(-1);
    expect(last?.end).toBeCloseTo(probe.durationSeconds, 3);
    expect(last?.start).toBeLessThan(probe.durationSeconds * 0.5);
    const flac = await tools.encodeChunk(workPath, probe.durationSeconds - 3, probe.durationSeconds);
    expect(await probeDuration(flac)).toBeCloseTo(3, 3);
  });

  it('keeps word timing through analyze → encodeChunk → recognizeTones (chunk-relative times)', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 14, durationSeconds: SECONDS, format: 'mp3', sampleRate: 44_100 });
    const { pauses, workPath } = await tools.analyze(path, { workDir, ...ANALYZE });
    const cut = pauses.find((p) => p.start > 4); // a cut in the middle of a pause, as the planner would choose
    expect(cut).toBeDefined();
    const at = ((cut?.start ?? 0) + (cut?.end ?? 0)) / 2;
    const second = await recognizeTones(await tools.encodeChunk(workPath, at, SECONDS));
    const expected = words.filter((w) => w.start >= at).map((w) => ({ ...w, start: w.start - at, end: w.end - at }));
    expectWordsMatch(second, expected, 0.05);
  });

  describe('rejects input that is not audio, naming the file', () => {
    const cases: [string, () => Promise<string>, RegExp][] = [
      ['a 0-byte file', () => emptyFile('talk.mp3'), /talk\.mp3: empty file/],
      ['random bytes named .mp3', () => randomBytesFile('talk.mp3'), /talk\.mp3: not an audio file \(ffprobe: .+\)/],
      ['a PNG image', () => pngFile('cover.png'), /cover\.png: not an audio file \(no audio stream; found video \(png\)\)/],
      ['a text file named .wav', () => textFile('notes.wav'), /notes\.wav: not an audio file/],
      ['a text file', () => textFile('notes.txt'), /notes\.txt: not an audio file/],
      ['a WAV with no samples', () => zeroSampleWav('short.wav'), /short\.wav: audio is empty \(duration 0\)/],
      ['a missing file', async () => '/nonexistent/talk.m4a', /talk\.m4a: file not found/],
    ];
    it.each(cases)('fails to probe %s', async (_what, make, message) => {
      const path = await make();
      await expect(tools.probe(path)).rejects.toThrow(PermanentError);
      await expect(tools.probe(path)).rejects.toThrow(message);
    });

    it('fails to analyze random bytes, naming the file and the reason', async () => {
      const path = await randomBytesFile('broken.mp3');
      const err = await tools.analyze(path, { workDir, ...ANALYZE }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toMatch(/^broken\.mp3: (cannot decode audio|not an audio file).*\((ffmpeg|ffprobe): .+\)/);
    });
  });
});

describe('ffmpeg binary lookup', () => {
  it('fails with the install command when ffmpeg is missing, as an infrastructure fault (not a bad file)', async () => {
    const tools = createFfmpegAudioTools({ ffmpegPath: '/nonexistent/ffmpeg' });
    const { path } = await toneSpeechFixture({ seed: 11, durationSeconds: SECONDS, format: 'wav', sampleRate: 44_100 });
    await expect(tools.probe(path)).rejects.toThrow(InfrastructureError);
    await expect(tools.probe(path)).rejects.toThrow(/ffmpeg not found or not executable at \/nonexistent\/ffmpeg; .*apt-get install -y ffmpeg/);
  });

  it('finds the bundled @ffmpeg-installer / @ffprobe-installer binaries when nothing is on the search path', async () => {
    const bins = await resolveFfmpegBinaries({ searchPath: '/nonexistent' });
    expect(bins.ffmpeg).toMatch(/@ffmpeg-installer/);
    expect(bins.ffprobe).toMatch(/@ffprobe-installer/);
  });

  it('reads no environment: the search path and explicit paths are what the runtime passes', async () => {
    // The process PATH has ffmpeg (the other tests use it); an empty search path must not fall back to it.
    expect((await resolveFfmpegBinaries(TOOLS)).ffmpeg).not.toMatch(/@ffmpeg-installer/);
    expect((await resolveFfmpegBinaries({})).ffmpeg).toMatch(/@ffmpeg-installer/);
    const explicit = (await resolveFfmpegBinaries(TOOLS)).ffmpeg;
    expect((await resolveFfmpegBinaries({ ffmpegPath: explicit, searchPath: '/nonexistent' })).ffmpeg).toBe(explicit);
  });
});

describe('recognizeTones (tone-speech ground truth)', () => {
  it('recognizes every word of a clean wav within 20 ms', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 21, durationSeconds: 20, format: 'wav' });
    expectWordsMatch(await recognizeTones(path), words, 0.02);
  });

  it('recognizes every word of an mp3 within 50 ms, with background noise', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 22, durationSeconds: 20, format: 'mp3', sampleRate: 44_100, noiseDb: -55 });
    expectWordsMatch(await recognizeTones(path), words, 0.05);
  });

  it('marks a word cut by the clip edge as partial', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 23, durationSeconds: 10, format: 'wav' });
    const dir = await scratchDir('partial');
    const tools = createFfmpegAudioTools(TOOLS);
    const { workPath } = await tools.analyze(path, { workDir: dir, ...ANALYZE });
    const word = words[3];
    if (word === undefined) throw new Error('fixture too short');
    // cut 60 ms into the word: the second clip starts with the word's last 0.12–0.29 s, the first ends with 60 ms of it
    const at = word.start + 0.06;
    const before = await recognizeTones(await tools.encodeChunk(workPath, 0, at));
    const after = await recognizeTones(await tools.encodeChunk(workPath, at, 10));
    await rm(dir, { recursive: true, force: true });
    expect(before.at(-1)?.word).toBe(`${word.word}${PARTIAL_SUFFIX}`);
    const remaining = word.end - at;
    expect(after[0]?.word).toBe(remaining < 0.126 ? `${word.word}${PARTIAL_SUFFIX}` : word.word);
  });

  it('generates the same truth for the same seed, and consecutive words always differ', async () => {
    const a = await toneSpeechFixture({ seed: 24, durationSeconds: 30, format: 'wav', runOn: [{ start: 5, seconds: 15 }] });
    const again = generateToneSpeech({ seed: 24, durationSeconds: 30, runOn: [{ start: 5, seconds: 15 }] });
    expect(again.words).toEqual(a.words);
    for (let i = 1; i < a.words.length; i++) expect(a.words[i]?.word).not.toBe(a.words[i - 1]?.word);
    // the run-on stretch has no pause of 0.3 s or more
    const inRunOn = truthPauses(a.words, 30, 0.3).filter((p) => p.start > 5.5 && p.end < 19.5);
    expect(inRunOn).toEqual([]);
  });
});

function clampTo(pauses: readonly Pause[], duration: number): Pause[] {
  return pauses.filter((p) => p.start < duration).map((p) => ({ start: p.start, end: Math.min(p.end, duration) }));
}

function expectPausesMatch(found: readonly Pause[], truth: readonly Pause[], tolerance: number): void {
  const describe = (ps: readonly Pause[]) => ps.map((p) => `${p.start.toFixed(3)}–${p.end.toFixed(3)}`).join(', ');
  expect(found.length, `found ${describe(found)}\ntruth ${describe(truth)}`).toBe(truth.length);
  truth.forEach((t, i) => {
    const f = found[i] as Pause;
    expect(Math.abs(f.start - t.start), `pause ${i} start: ${f.start} vs ${t.start}`).toBeLessThan(tolerance);
    expect(Math.abs(f.end - t.end), `pause ${i} end: ${f.end} vs ${t.end}`).toBeLessThan(tolerance);
  });
}

function expectWordsMatch(found: readonly { word: string; start: number; end: number }[], truth: readonly { word: string; start: number; end: number }[], tolerance: number): void {
  expect(found.map((w) => w.word)).toEqual(truth.map((w) => w.word));
  truth.forEach((t, i) => {
    const f = found[i] as { start: number; end: number };
    expect(Math.abs(f.start - t.start), `word ${i} start`).toBeLessThan(tolerance);
    expect(Math.abs(f.end - t.end), `word ${i} end`).toBeLessThan(tolerance);
  });
}

async function ffprobeStream(flac: Uint8Array): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', 'pipe:0'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', () => resolve((JSON.parse(Buffer.concat(out).toString('utf8')) as { streams: Record<string, unknown>[] }).streams[0] ?? {}));
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.from(flac));
  });
}
