/** The `voxpipe` command as users run it: a child process, real files, exit codes, output files. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { voxpipe } from './run-cli.js';
import type { Transcript } from '../../shared/core/types.js';
import { randomBytesFile, scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';

const run = promisify(execFile);


describe('voxpipe CLI', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
  });
  afterAll(() => double.close());

  it('documents every setting in --help', async () => {
    const { code, stdout } = await voxpipe(['transcribe', '--help']);
    expect(code).toBe(0);
    for (const name of ['VOXPIPE_PROVIDER', 'VOXPIPE_BASE_URL', 'VOXPIPE_API_KEY', 'MISTRAL_API_KEY', 'VOXPIPE_MODEL', 'VOXPIPE_LANGUAGE',
      'VOXPIPE_CONCURRENCY', 'VOXPIPE_CHUNK_SECONDS', '--provider', '--model', '--concurrency', '--language', '--format', 'low accuracy']) {
      expect(stdout).toContain(name);
    }
  });

  it('fails with exit code 2 and names the variable when configuration is invalid', async () => {
    const { code, stderr } = await voxpipe(['transcribe', 'x.mp3'], { VOXPIPE_CONCURRENCY: 'lots' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/VOXPIPE_CONCURRENCY/);
  });

  it('writes json, txt, srt and vtt per input, reports a bad file, and exits 1 when any file failed', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 21, durationSeconds: 50, format: 'mp3' });
    const bad = await randomBytesFile('broken.mp3');
    const out = await scratchDir('cli-out');
    const { code, stdout } = await voxpipe(['transcribe', path, bad, '--out', out, '--chunk-seconds', '20', '--words'], {
      VOXPIPE_PROVIDER: 'openai-compatible',
      VOXPIPE_MODEL: 'whisper-1',
      VOXPIPE_BASE_URL: double.url,
      OPENAI_API_KEY: 'k',
      VOXPIPE_WORK_DIR: join(out, 'work'),
    });
    expect(code).toBe(1);
    const name = path.split('/').pop()!.replace(/\.mp3$/, '');
    for (const ext of ['json', 'txt', 'srt', 'vtt']) expect(existsSync(join(out, `${name}.${ext}`))).toBe(true);
    const t = JSON.parse(await readFile(join(out, `${name}.json`), 'utf8')) as Transcript;
    expect(t.words?.map((w) => w.word)).toEqual(words.map((w) => w.word));
    expect(stdout).toMatch(/2 files: 1 completed, 1 failed/);
    expect(stdout).toMatch(/broken\.mp3/);
    const failed = JSON.parse(await readFile(join(out, 'broken.json'), 'utf8')) as Transcript;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/broken\.mp3/);
    // A player must open the subtitles: ffmpeg parses them back.
    const srt = await run('ffmpeg', ['-hide_banner', '-i', join(out, `${name}.srt`), '-f', 'srt', '-']);
    expect(srt.stdout).toMatch(/-->/);
    const vtt = await run('ffmpeg', ['-hide_banner', '-i', join(out, `${name}.vtt`), '-f', 'webvtt', '-']);
    expect(vtt.stdout).toMatch(/WEBVTT/);
  });

  it('transcribes real recorded speech offline with the default provider', async () => {
    const sample = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
    const out = await scratchDir('cli-offline');
    const { code, stdout } = await voxpipe(['transcribe', sample, '--out', out, '--format', 'json,txt'], { VOXPIPE_WORK_DIR: join(out, 'work') });
    expect(code, stdout).toBe(0);
    const t = JSON.parse(await readFile(join(out, 'sense_and_sensibility_01_austen_64kb-0870.json'), 'utf8')) as Transcript;
    expect(t.model).toBe('pocketsphinx-en-us');
    expect(t.text).toMatch(/john/);
    expect(t.text).toMatch(/consider/);
    expect(existsSync(join(out, 'sense_and_sensibility_01_austen_64kb-0870.srt'))).toBe(false);
  });
});
