/**
 * Issue 11 (6c): a file cut off while it was written (a writer pausing longer than `--stable-ms`) used to give a
 * transcript of the part that was there, marked completed with no hint. Real truncated files (an mp3 whose
 * Xing header declares the full length, bytes cut off the end) through the shipped CLI: `voxpipe transcribe`
 * and `voxpipe watch` say so in the result's `warnings`, on the terminal and (watch) in the reason object.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DropReason } from '../../shared/core/profile-paths.js';
import type { Transcript } from '../../shared/core/types.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { voxpipe } from '../e2e/run-cli.js';

/** The first `fraction` of a file's bytes: what a reader sees of a copy still being written. */
async function truncatedCopy(from: string, to: string, fraction: number): Promise<void> {
  const bytes = await readFile(from);
  await writeFile(to, bytes.subarray(0, Math.floor(bytes.byteLength * fraction)));
}

describe('truncated input is transcribed with a warning, not silently', () => {
  let double: ProviderDouble;
  let env: Record<string, string>;
  let dir: string;
  let full: string;
  let cut: string;
  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
    env = { VOXPIPE_PROVIDER: 'openai-compatible', VOXPIPE_MODEL: 'whisper-1', VOXPIPE_BASE_URL: double.url, OPENAI_API_KEY: 'k' };
    dir = await scratchDir('truncated');
    full = (await toneSpeechFixture({ seed: 71, durationSeconds: 24, format: 'mp3' })).path;
    cut = join(dir, 'meeting.mp3');
    await truncatedCopy(full, cut, 0.5);
  });
  afterAll(() => double?.close());

  it('voxpipe transcribe: the result JSON and the terminal carry the warning; a whole file has none', async () => {
    const out = join(dir, 'out');
    const r = await voxpipe(['transcribe', cut, full, '--out', out, '--work-dir', join(dir, 'work'), '--no-progress'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const t = JSON.parse(await readFile(join(out, 'meeting.json'), 'utf8')) as Transcript;
    expect(t.status).toBe('completed');
    const warning = t.warnings.find((w) => w.startsWith('input truncated'));
    expect(warning, JSON.stringify(t.warnings)).toMatch(/declares 2[34]\.\d s of audio but only 1[12]\.\d s could be decoded/);
    expect(r.stdout).toContain(`warning: ${warning}`);
    const whole = JSON.parse(await readFile(join(out, `${basename(full, '.mp3')}.json`), 'utf8')) as Transcript;
    expect(whole.status).toBe('completed');
    expect(whole.warnings.filter((w) => w.startsWith('input truncated'))).toEqual([]);
  });

  it('voxpipe watch: the reason object and the run line carry the warning', async () => {
    const root = join(dir, 'watch');
    await mkdir(join(root, 'drop', 'meetings'), { recursive: true });
    await writeFile(join(root, 'profiles.yaml'), 'version: 1\nprofiles:\n  meetings:\n    formats: [json]\n');
    await copyFile(cut, join(root, 'drop', 'meetings', 'meeting.mp3'));
    const r = await voxpipe(
      ['watch', join(root, 'drop'), '--once', '--profiles', join(root, 'profiles.yaml'), '--out', join(root, 'out'), '--work-dir', join(root, 'work'), '--stable-ms', '150'],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✔ meetings\/meeting\.mp3: .*\n {2}warning: input truncated/);
    const reason = JSON.parse(await readFile(join(root, 'drop', 'processed', 'meetings', 'meeting.mp3.reason.json'), 'utf8')) as DropReason;
    expect(reason.status).toBe('completed');
    expect(reason.warnings?.[0]).toMatch(/^input truncated: /);
    const t = JSON.parse(await readFile(join(root, 'out', 'meetings', 'meeting.json'), 'utf8')) as Transcript;
    expect(t.warnings.some((w) => w.startsWith('input truncated'))).toBe(true);
  });
});
