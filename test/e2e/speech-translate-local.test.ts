/**
 * End to end through the embedded runtime with `--translate-speech`: tone-language audio split into several
 * chunks, transcribed by a provider double, then translated natively (second pass over the stored chunk FLACs
 * with task=translate) by the same double. Output files as the CLI writes them.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalPipeline } from '../../cli/local-pipeline.js';
import { resolveFfmpegBinaries } from '../../shared/adapters/ffmpeg-binaries.js';
import { TOOLS } from '../fixtures/tools.js';
import { loadConfig } from '../../shared/config.js';
import { type ProviderDouble, startProviderDouble, type Vendor } from '../doubles/provider-server.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { silentLogger } from './local-harness.js';
import { voxpipe } from './run-cli.js';

const run = promisify(execFile);

describe('local pipeline with --translate-speech', () => {
  const doubles = new Map<Vendor, ProviderDouble>();
  let workDir: string;
  const pipelineFor = (vendor: 'openai-compatible' | 'mistral') => {
    const double = doubles.get(vendor);
    if (!double) throw new Error(`no ${vendor} double`);
    const config = loadConfig({
      VOXPIPE_PROVIDER: vendor,
      VOXPIPE_MODEL: vendor === 'mistral' ? 'voxtral-mini-latest' : 'whisper-1',
      VOXPIPE_BASE_URL: double.url,
      VOXPIPE_API_KEY: 'test-key',
      VOXPIPE_WORK_DIR: workDir,
      VOXPIPE_CONCURRENCY: '4',
      VOXPIPE_CHUNK_SECONDS: '30',
      VOXPIPE_TIMEOUT_SECONDS: '10',
      VOXPIPE_TRANSLATE_SPEECH: 'true',
    });
    expect(config.translateSpeech).toBe(true);
    return { double, pipeline: createLocalPipeline({ config, logger: silentLogger, chat: null }) };
  };
  beforeAll(async () => {
    for (const vendor of ['openai-compatible', 'mistral'] as const) {
      doubles.set(vendor, await startProviderDouble({ vendor, recognize: recognizeTones, apiKey: 'test-key' }));
    }
    workDir = await scratchDir('speech-translate-e2e');
  });
  afterAll(async () => {
    for (const double of doubles.values()) await double.close();
  });

  it('translates every chunk once through /audio/translations, with the transcript segments and timing; the .en.srt opens in ffmpeg', async () => {
    const { path } = await toneSpeechFixture({ seed: 31, durationSeconds: 100, format: 'mp3' });
    const { double, pipeline } = pipelineFor('openai-compatible');

    const result = await pipeline.transcribe(path, 'talk', { words: false, diarize: false, force: true, enrich: { translateSpeech: true } });
    const outDir = join(workDir, 'out');
    const written = await pipeline.writeResults(result, outDir, 'talk', ['json', 'txt', 'srt', 'vtt']);

    const t = result.transcript;
    expect(t.status).toBe('completed');
    expect(t.chunks.length).toBeGreaterThan(2);
    expect(t.segments.length).toBeGreaterThan(3);
    const en = t.translations?.en;
    expect(en).toMatchObject({ status: 'ok', mode: 'native-speech' });
    if (en?.status === 'ok') {
      const prefixed = (text: string) => text.split(' ').map((w) => `en:${w}`).join(' ');
      expect(en.segments).toEqual(t.segments.map((s) => ({ id: s.id, start: s.start, end: s.end, text: prefixed(s.text) })));
      expect(en.text).toBe(prefixed(t.text));
    }
    const translations = double.requests.filter((r) => r.path === '/v1/audio/translations');
    expect(translations).toHaveLength(t.chunks.length); // each chunk translated once
    expect(double.requests.every((r) => r.validationErrors.length === 0)).toBe(true);
    expect(written.map((p) => p.slice(outDir.length + 1)).sort()).toEqual(
      ['talk.en.srt', 'talk.en.txt', 'talk.en.vtt', 'talk.json', 'talk.srt', 'talk.txt', 'talk.vtt'].sort(),
    );
    const { ffmpeg } = await resolveFfmpegBinaries(TOOLS);
    const parsed = await run(ffmpeg, ['-v', 'error', '-i', join(outDir, 'talk.en.srt'), '-f', 'srt', '-']);
    expect(parsed.stdout).toContain('en:');
  });

  it('fails the native translation with a clear reason when the provider has none (mistral), leaving the transcript intact', async () => {
    const { path } = await toneSpeechFixture({ seed: 32, durationSeconds: 40, format: 'wav' });
    const { double, pipeline } = pipelineFor('mistral');

    const result = await pipeline.transcribe(path, 'clip', { words: false, diarize: false, force: true, enrich: { translateSpeech: true } });
    const outDir = join(workDir, 'out-mistral');
    await pipeline.writeResults(result, outDir, 'clip', ['json', 'srt']);

    const t = result.transcript;
    expect(t.status).toBe('completed');
    expect(t.text.length).toBeGreaterThan(0);
    expect(t.translations?.en).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/native speech translation to en failed: provider mistral \(voxtral-mini-latest\) has no native speech translation/),
    });
    expect(double.requests.length).toBe(t.chunks.length); // transcription only
    expect((await readdir(outDir)).sort()).toEqual(['clip.json', 'clip.srt']);
  });

  it('refuses --translate en together with --translate-speech (exit 2): both would write translations.en', async () => {
    const { code, stderr } = await voxpipe(['transcribe', 'x.mp3', '--translate', 'fr,en', '--translate-speech'], { VOXPIPE_WORK_DIR: workDir });

    expect(code).toBe(2);
    expect(stderr).toMatch(/--translate en and --translate-speech both write translations\.en/);
  });
});
