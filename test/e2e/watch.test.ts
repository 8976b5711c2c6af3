/**
 * `voxpipe watch DIR --once` as users run it: a child process over a real directory tree with two profiles,
 * odd names, a sidecar, a duplicate, a corrupt file and an unknown profile, against a provider double.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DropReason } from '../../shared/core/profile-paths.js';
import type { JobManifest, Transcript, Word } from '../../shared/core/types.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');

const PROFILES = `
version: 1
defaults:
  chunkSeconds: 60
profiles:
  meetings:
    language: en
    words: true
    formats: [json, txt]
  radio:
    language: de
    chunkSeconds: 20
    formats: [json, srt]
    retentionDays: 14
`;

describe('voxpipe watch --once', () => {
  let double: ProviderDouble;
  let root: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
    root = await scratchDir('watch');
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TMPDIR: process.env.TMPDIR ?? '/tmp',
      VOXPIPE_PROVIDER: 'openai-compatible',
      VOXPIPE_MODEL: 'whisper-1',
      VOXPIPE_BASE_URL: double.url,
      OPENAI_API_KEY: 'k',
    };
    await writeFile(join(root, 'profiles.yaml'), PROFILES);
  });
  afterAll(() => double?.close());

  const watch = async (...extra: string[]) => {
    try {
      const { stdout } = await run(
        process.execPath,
        [BIN, 'watch', join(root, 'drop'), '--once', '--profiles', join(root, 'profiles.yaml'), '--out', join(root, 'out'), '--work-dir', join(root, 'work'), '--stable-ms', '150', ...extra],
        { env, maxBuffer: 16 * 1024 * 1024 },
      );
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };
  const drop = async (rel: string, from: string) => {
    const path = join(root, 'drop', ...rel.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await copyFile(from, path);
  };
  const json = async <T>(...parts: string[]) => JSON.parse(await readFile(join(root, ...parts), 'utf8')) as T;
  const words = (t: Transcript) => (t.words?.length ? t.words.map((w) => w.word) : t.text.split(/\s+/).filter(Boolean));
  const names = (w: readonly Word[]) => w.map((x) => x.word);

  it('runs each drop with its profile, moves sources with a reason, dedups by content and fails bad files', async () => {
    // GIVEN a drop folder with two profiles, odd names, deep paths, a sidecar, a duplicate, a corrupt file,
    // an unknown profile and a hidden partial file
    const meeting = await toneSpeechFixture({ seed: 41, durationSeconds: 20, format: 'mp3' });
    const news = await toneSpeechFixture({ seed: 42, durationSeconds: 15, format: 'wav' });
    const corrupt = join(root, 'corrupt.bin');
    await writeFile(corrupt, Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 251)));
    const odd = 'meetings/2026/Q1 board+call été/Réunion 1+1 ✓.mp3';
    await drop(odd, meeting.path);
    await drop('meetings/deep/a/b/c/d/copy of board.mp3', meeting.path);
    await drop('radio/news.wav', news.path);
    await writeFile(join(root, 'drop', 'radio', 'news.wav.voxpipe.json'), JSON.stringify({ language: 'fr' }));
    await drop('radio/broken file.mp3', corrupt);
    await drop('podcasts/ep1.mp3', news.path);
    await drop('meetings/.partial.mp3', news.path);

    // WHEN the folder is processed once
    const { code, stdout } = await watch();

    // THEN the run reports two failures (corrupt file, unknown profile)
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/5 files: 3 done, 2 failed/);

    // the odd-named meeting or its copy ran once; the other is a duplicate of it
    const a = `processed/${odd}.reason.json`;
    const b = 'processed/meetings/deep/a/b/c/d/copy of board.mp3.reason.json';
    const reasons = [await json<DropReason>('drop', ...a.split('/')), await json<DropReason>('drop', ...b.split('/'))];
    expect(reasons.map((r) => r.status).sort()).toEqual(['completed', 'duplicate']);
    const ran = reasons.find((r) => r.status === 'completed')!;
    const dup = reasons.find((r) => r.status === 'duplicate')!;
    expect(dup.duplicateOf).toBe(ran.source);
    expect(ran.results).toHaveLength(2); // json + txt: the profile's formats
    const ranOut = ran.results.find((r) => r.endsWith('.json'))!;
    const t = await json<Transcript>('out', ...ranOut.split('/'));
    expect(t.status).toBe('completed');
    expect(words(t)).toEqual(names(meeting.words));
    expect(existsSync(join(root, 'out', ...ranOut.replace(/\.json$/, '.srt').split('/')))).toBe(false);
    expect(existsSync(join(root, 'drop', ...odd.split('/')))).toBe(false);
    expect(existsSync(join(root, 'drop', 'processed', ...odd.split('/')))).toBe(true);
    if (ran.source === odd) expect(existsSync(join(root, 'out', 'meetings', '2026', 'Q1 board+call été', 'Réunion 1+1 ✓.txt'))).toBe(true);

    // the radio file ran with the profile, its sidecar overriding the language; the sidecar moved with it
    const radio = await json<DropReason>('drop', 'processed', 'radio', 'news.wav.reason.json');
    expect(radio).toMatchObject({ status: 'completed', profile: 'radio', retentionDays: 14, results: ['radio/news.json', 'radio/news.srt'] });
    const manifest = await json<JobManifest>('work', 'store', 'jobs', radio.jobId!, 'manifest.json');
    expect(manifest.options).toMatchObject({ language: 'fr', chunkSeconds: 20, provider: 'openai-compatible', model: 'whisper-1' });
    expect(existsSync(join(root, 'drop', 'processed', 'radio', 'news.wav.voxpipe.json'))).toBe(true);
    expect(words(await json<Transcript>('out', 'radio', 'news.json'))).toEqual(names(news.words));

    // the corrupt file and the unknown profile are in failed/ with a reason naming what to fix
    const broken = await json<DropReason>('drop', 'failed', 'radio', 'broken file.mp3.reason.json');
    expect(broken.status).toBe('failed');
    expect(broken.reason).toContain('broken file.mp3');
    expect(existsSync(join(root, 'drop', 'failed', 'radio', 'broken file.mp3'))).toBe(true);
    const unknown = await json<DropReason>('drop', 'failed', 'podcasts', 'ep1.mp3.reason.json');
    expect(unknown.reason).toMatch(/unknown profile "podcasts".*meetings, radio/);

    // the hidden partial file is left alone
    expect(existsSync(join(root, 'drop', 'meetings', '.partial.mp3'))).toBe(true);
  });

  it('treats a later drop of the same content as a duplicate, and runs it again with --force', async () => {
    const meeting = await toneSpeechFixture({ seed: 41, durationSeconds: 20, format: 'mp3' });
    await drop('meetings/again.mp3', meeting.path);
    const first = await watch();
    expect(first.code, first.stdout).toBe(0);
    expect((await json<DropReason>('drop', 'processed', 'meetings', 'again.mp3.reason.json')).status).toBe('duplicate');
    expect(existsSync(join(root, 'out', 'meetings', 'again.json'))).toBe(false);

    await drop('meetings/again.mp3', meeting.path);
    const forced = await watch('--force');
    expect(forced.code, forced.stdout).toBe(0);
    // The re-drop of the same path never overwrites the first one's copy and reason: it runs as again-2.mp3.
    expect((await json<DropReason>('drop', 'processed', 'meetings', 'again.mp3.reason.json')).status).toBe('duplicate');
    expect((await json<DropReason>('drop', 'processed', 'meetings', 'again-2.mp3.reason.json')).status).toBe('completed');
    expect(existsSync(join(root, 'out', 'meetings', 'again-2.json'))).toBe(true);
  });

  it('stops with exit code 2 and names the field when the profiles file is invalid', async () => {
    await writeFile(join(root, 'bad.yaml'), 'profiles:\n  meetings:\n    chunkSeconds: 5\n');
    try {
      await run(process.execPath, [BIN, 'watch', join(root, 'drop'), '--once', '--profiles', join(root, 'bad.yaml')], { env });
      expect.unreachable();
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      expect(e.code).toBe(2);
      expect(e.stderr).toMatch(/profiles\.meetings\.chunkSeconds/);
    }
  });
});
