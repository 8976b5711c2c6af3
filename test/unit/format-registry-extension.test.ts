/**
 * Adding an output format is one entry in shared/core/format-table.ts: here a made-up `tsv` entry is added and
 * the whole pipeline follows with no other change. A real local run (provider double, real ffmpeg) writes
 * `transcript.tsv` through the aggregate stage and copies it out with `--format tsv`; the CLI's `--format`
 * parser and help, the profiles schema, translations, `voxpipe serve`'s and the dashboard's content types
 * all know it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type * as Table from '../../shared/core/format-table.js';

vi.mock('../../shared/core/format-table.js', async (importOriginal) => {
  const original = await importOriginal<typeof Table>();
  const tsv: Table.OutputFormat = {
    contentType: 'text/tab-separated-values',
    label: 'TSV',
    render: ({ segments }) => segments.map((s) => `${s.start.toFixed(3)}\t${s.end.toFixed(3)}\t${s.text}\n`).join(''),
    perTranslation: true,
  };
  return { ...original, OUTPUT_FORMATS: { ...original.OUTPUT_FORMATS, tsv } };
});

const { createLocalPipeline } = await import('../../cli/local-pipeline.js');
const { parseFormats } = await import('../../cli/format-option.js');
const { ENV_HELP } = await import('../../cli/env-help.js');
const { loadConfig } = await import('../../shared/config.js');
const { contentTypeOfFile, RESULT_FORMATS, TRANSLATION_FORMATS } = await import('../../shared/core/formats.js');
const { jobKeys } = await import('../../shared/core/keys.js');
const { parseProfiles } = await import('../../shared/core/profile-schema.js');
const { DOWNLOAD_TYPES } = await import('../../shared/dashboard/routes.js');
const { enrichmentFiles } = await import('../../shared/stages/enrich.js');
const { scratchDir, toneSpeechFixture } = await import('../fixtures/audio.js');
const { recognizeTones } = await import('../fixtures/tone-speech.js');
const { startProviderDouble } = await import('../doubles/provider-server.js');
const { silentLogger } = await import('../e2e/local-harness.js');

describe('an output format added to the registry', () => {
  const double = startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
  afterAll(async () => (await double).close());

  it('is rendered by the aggregate stage of a real run and copied out by --format', async () => {
    const { path } = await toneSpeechFixture({ seed: 31, durationSeconds: 20, format: 'mp3' });
    const work = await scratchDir('format-ext');
    const config = loadConfig({
      VOXPIPE_PROVIDER: 'openai-compatible',
      VOXPIPE_MODEL: 'whisper-1',
      VOXPIPE_BASE_URL: (await double).url,
      VOXPIPE_API_KEY: 'k',
      VOXPIPE_WORK_DIR: work,
    });
    const pipeline = createLocalPipeline({ config, logger: silentLogger });
    const result = await pipeline.transcribe(path, 'talk', { words: false, diarize: false, force: false });
    expect(result.transcript.status).toBe('completed');
    const stored = await readFile(join(work, 'store', jobKeys(result.jobId).result('tsv' as never)), 'utf8');
    expect(stored.trim().split('\n')).toHaveLength(result.transcript.segments.length);
    expect(stored.split('\n')[0]).toMatch(/^\d+\.\d{3}\t\d+\.\d{3}\t\S/);

    const out = join(work, 'out');
    const written = await pipeline.writeResults(result, out, 'talk', parseFormats('json,tsv'));
    expect(written).toEqual([join(out, 'talk.json'), join(out, 'talk.tsv')]);
    expect(await readFile(join(out, 'talk.tsv'), 'utf8')).toBe(stored);
  });

  it('is a --format choice, a profile format and a translation format, with its content type everywhere', () => {
    expect(RESULT_FORMATS).toContain('tsv');
    expect(TRANSLATION_FORMATS).toContain('tsv');
    expect(() => parseFormats('srt,pdf')).toThrow(/allowed: json,txt,srt,vtt,tsv/);
    expect(ENV_HELP).toContain('.tsv');
    expect(parseProfiles({ profiles: { subs: { formats: ['tsv'] } } }, 'profiles.yaml').profiles.subs?.formats).toEqual(['tsv']);
    expect(contentTypeOfFile('results/x/transcript.fr.tsv')).toBe('text/tab-separated-values');
    expect((DOWNLOAD_TYPES as Record<string, string>).tsv).toBe('text/tab-separated-values');
    const transcript = { id: 'j', translations: { fr: { status: 'ok', segments: [] } } } as never;
    expect(enrichmentFiles(transcript, ['tsv'])).toEqual([['results/j/transcript.fr.tsv', 'fr.tsv']]);
  });
});
