/**
 * `parseFfprobe` on real ffprobe output: JSON captured from real files by `test/fixtures/ffprobe/capture.sh`,
 * once from the system ffprobe (Debian 5.1) and once from the Lambda layer's (`*.ffprobe-4.1.json`, ffmpeg 4.1),
 * so both versions the product meets are covered.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFfprobe } from '../../shared/adapters/ffprobe.js';
import { PermanentError } from '../../shared/core/errors.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'ffprobe');
const VERSIONS = [
  ['ffprobe 5.1', ''],
  ['ffprobe 4.1 (Lambda layer)', '.ffprobe-4.1'],
] as const;
const captured = (file: string, suffix: string): string => readFileSync(join(DIR, `${file}${suffix}.json`), 'utf8');

describe.each(VERSIONS)('parseFfprobe on %s output', (_version, suffix) => {
  const probe = (file: string) => parseFfprobe(captured(file, suffix), file);

  it.each([
    ['tone-stereo.wav', { formatName: 'wav', codec: 'pcm_s16le', sampleRate: 44_100, channels: 2, durationSeconds: 3 }],
    ['tone.mp3', { formatName: 'mp3', codec: 'mp3', sampleRate: 44_100, channels: 1, durationSeconds: 3.030204 }],
    ['tone.m4a', { formatName: 'mov,mp4,m4a,3gp,3g2,mj2', codec: 'aac', sampleRate: 48_000, channels: 1, durationSeconds: 3 }],
    ['librivox.wav', { formatName: 'wav', codec: 'pcm_s16le', sampleRate: 16_000, channels: 1, durationSeconds: 7.1 }],
  ])('%s: format, codec, rate, channels and duration of the audio stream', (file, expected) => {
    expect(probe(file)).toEqual(expected);
  });

  it('a video whose container outlasts its audio: the audio stream’s own duration (2 s, not 5 s)', () => {
    expect(probe('clip.mp4')).toMatchObject({ codec: 'aac', durationSeconds: 2 });
  });

  it('a streamed webm without any duration: unknown, for the caller to measure by decoding', () => {
    expect(probe('streamed.webm')).toEqual({ formatName: 'matroska,webm', codec: 'opus', sampleRate: 48_000, channels: 1, durationSeconds: undefined });
  });

  it('a zero-sample wav: duration unknown (the caller measures 0 and rejects the file as empty)', () => {
    expect(probe('zero.wav').durationSeconds).toBeUndefined();
  });

  it('an image: not an audio file, naming the file and what was found', () => {
    expect(() => probe('cover.png')).toThrow(PermanentError);
    expect(() => probe('cover.png')).toThrow('cover.png: not an audio file (no audio stream; found video (png))');
  });

  it('random bytes (ffprobe printed an empty object): no streams', () => {
    expect(() => probe('corrupt.mp3')).toThrow('corrupt.mp3: not an audio file (no audio stream; found no streams)');
  });

  it('an audio stream without sample rate or channels cannot be decoded', () => {
    const json = JSON.parse(captured('tone.mp3', suffix)) as { streams: Record<string, unknown>[] };
    delete json.streams[0]!.sample_rate;
    expect(() => parseFfprobe(JSON.stringify(json), 'tone.mp3')).toThrow('tone.mp3: not an audio file (audio stream mp3 cannot be decoded)');
    json.streams[0]!.sample_rate = '44100';
    json.streams[0]!.channels = 0;
    expect(() => parseFfprobe(JSON.stringify(json), 'tone.mp3')).toThrow(/audio stream mp3 cannot be decoded/);
  });
});

describe('parseFfprobe on output that is not ffprobe JSON', () => {
  it.each([
    ['empty output', ''],
    ['cut-off JSON', '{"streams": [{"codec_type": "aud'],
    ['wrong shape', '{"streams": "none"}'],
  ])('%s: no usable stream information', (_what, text) => {
    expect(() => parseFfprobe(text, 'x.mp3')).toThrow('x.mp3: not an audio file (ffprobe gave no usable stream information)');
  });
});
