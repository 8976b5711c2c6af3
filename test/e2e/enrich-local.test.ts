/**
 * End to end through the embedded runtime with enrichments: tone-language audio split into several chunks,
 * transcribed by a provider double, then translated / summarised / questioned by a chat double of the same
 * vendor (both real HTTP, requests validated against the vendor spec). Output files as the CLI writes them.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalPipeline } from '../../cli/local-pipeline.js';
import { loadConfig } from '../../shared/config.js';
import { resolveFfmpegBinaries } from '../../shared/adapters/ffmpeg-binaries.js';
import { TOOLS } from '../fixtures/tools.js';
import type { Transcript } from '../../shared/core/types.js';
import { type ChatDouble, startChatDouble } from '../doubles/chat-server.js';
import { expectFrenchOkGermanFailed } from './enrich-assertions.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { silentLogger } from './local-harness.js';

const run = promisify(execFile);

describe('local pipeline with --translate fr,de --summary (mistral transcription + chat)', () => {
  let stt: ProviderDouble;
  let chat: ChatDouble;
  let workDir: string;
  const env = () => ({
    VOXPIPE_PROVIDER: 'mistral',
    VOXPIPE_MODEL: 'voxtral-mini-latest',
    VOXPIPE_BASE_URL: stt.url,
    VOXPIPE_API_KEY: 'test-key',
    VOXPIPE_WORK_DIR: workDir,
    VOXPIPE_CONCURRENCY: '4',
    VOXPIPE_CHUNK_SECONDS: '30',
    VOXPIPE_TIMEOUT_SECONDS: '10',
    VOXPIPE_CHAT_BASE_URL: chat.url,
    VOXPIPE_CHAT_MODEL: 'voxtral-small-latest',
    VOXPIPE_CHAT_CONTEXT_TOKENS: '2000',
  });
  beforeAll(async () => {
    stt = await startProviderDouble({ vendor: 'mistral', recognize: recognizeTones, apiKey: 'test-key' });
    // German replies are always malformed: the forced failure of one language.
    chat = await startChatDouble({ vendor: 'mistral', apiKey: 'test-key', contextTokens: 2_000, faults: (i) => (i.language === 'de' ? { kind: 'malformed' } : undefined) });
    workDir = await scratchDir('enrich-e2e');
  });
  afterAll(async () => {
    await stt.close();
    await chat.close();
  });

  it('translates every segment once with the same timing, writes a summary and SRTs ffmpeg reads; a failed language leaves the rest intact', async () => {
    const { path } = await toneSpeechFixture({ seed: 21, durationSeconds: 100, format: 'mp3' });
    const pipeline = createLocalPipeline({ config: loadConfig(env()), logger: silentLogger });
    const result = await pipeline.transcribe(path, 'talk', { words: false, diarize: false, force: true, enrich: { translate: ['fr', 'de'], summary: true } });
    const outDir = join(workDir, 'out');
    const written = await pipeline.writeResults(result, outDir, 'talk', ['json', 'txt', 'srt', 'vtt']);

    const t = result.transcript;
    expectFrenchOkGermanFailed(t, chat);
    expect(t.usage.chat?.calls.length).toBe(chat.requests.length);

    const stored = JSON.parse(await readFile(join(outDir, 'talk.json'), 'utf8')) as Transcript;
    expect(stored.text).toBe(t.text);
    expect(stored.translations?.fr?.status).toBe('ok');
    expect(written.map((p) => p.slice(outDir.length + 1)).sort()).toEqual(
      ['talk.fr.srt', 'talk.fr.txt', 'talk.fr.vtt', 'talk.json', 'talk.srt', 'talk.summary.md', 'talk.txt', 'talk.vtt'].sort(),
    );
    const { ffmpeg } = await resolveFfmpegBinaries(TOOLS);
    const parsed = await run(ffmpeg, ['-v', 'error', '-i', join(outDir, 'talk.fr.srt'), '-f', 'srt', '-']);
    expect(parsed.stdout).toContain('fr:');
    expect((await readFile(join(outDir, 'talk.summary.md'), 'utf8')).length).toBeGreaterThan(20);
  });

  it('answers a question over the audio itself for a short file (Mistral: base64 string)', async () => {
    const { path } = await toneSpeechFixture({ seed: 22, durationSeconds: 20, format: 'wav' });
    const pipeline = createLocalPipeline({ config: loadConfig(env()), logger: silentLogger });
    const result = await pipeline.transcribe(path, 'clip', { words: false, diarize: false, force: true, enrich: { ask: 'What is said?' } });
    expect(result.transcript.answer).toMatchObject({ status: 'ok', mode: 'audio' });
    const req = chat.requests.find((r) => r.audio)!;
    const part = (req.body.messages as { content: { input_audio?: unknown }[] }[])[0]!.content[0]!;
    expect(typeof part.input_audio).toBe('string');
  });

  it('fails the enrichments with a clear reason when there is no chat model (offline), still writing the transcript', async () => {
    expect(loadConfig({ VOXPIPE_PROVIDER: 'offline' }).chat).toBeUndefined();
    const { path } = await toneSpeechFixture({ seed: 22, durationSeconds: 20, format: 'wav' });
    const pipeline = createLocalPipeline({ config: loadConfig(env()), logger: silentLogger, chat: null });
    const result = await pipeline.transcribe(path, 'clip', { words: false, diarize: false, force: true, enrich: { translate: ['fr'], summary: true } });
    expect(result.transcript.status).toBe('completed');
    expect(result.transcript.text.length).toBeGreaterThan(0);
    expect(result.transcript.translations?.fr).toMatchObject({ status: 'failed', reason: expect.stringMatching(/no chat provider: set VOXPIPE_CHAT_PROVIDER/) });
  });
});
