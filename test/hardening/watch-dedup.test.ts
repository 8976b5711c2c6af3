/**
 * Issue 11, watch findings, through the CLI as users run it (`voxpipe watch DIR --once`, the shipped bundle):
 * - a duplicate of a drop whose job FAILED runs again (README: "A drop whose earlier job failed runs again"),
 *   instead of ending in processed/ as a "duplicate" of the failure;
 * - a results folder inside the drop folder is never swept as drops.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DropReason } from '../../shared/core/profile-paths.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');

describe('voxpipe watch: failed duplicates and results inside the drop folder', () => {
  let double: ProviderDouble;
  let env: Record<string, string>;
  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TMPDIR: process.env.TMPDIR ?? '/tmp',
      VOXPIPE_PROVIDER: 'openai-compatible',
      VOXPIPE_MODEL: 'whisper-1',
      VOXPIPE_BASE_URL: double.url,
      OPENAI_API_KEY: 'k',
    };
  });
  afterAll(() => double?.close());

  const setup = async (name: string) => {
    const root = await scratchDir(name);
    await writeFile(join(root, 'profiles.yaml'), 'version: 1\nprofiles:\n  meetings:\n    language: en\n    formats: [json, txt]\n');
    const watch = async (out: string) => {
      const args = [BIN, 'watch', join(root, 'drop'), '--once', '--profiles', join(root, 'profiles.yaml'), '--out', out, '--work-dir', join(root, 'work'), '--stable-ms', '150'];
      try {
        const { stdout } = await run(process.execPath, args, { env, maxBuffer: 16 * 1024 * 1024 });
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
    const reason = async (rel: string) => JSON.parse(await readFile(join(root, 'drop', ...rel.split('/')), 'utf8')) as DropReason;
    return { root, watch, drop, reason };
  };

  it('runs a duplicate of a drop whose job failed again, and it ends in failed/, not processed/ as a duplicate', async () => {
    // GIVEN the same unreadable content dropped under two names at once
    const { root, watch, drop, reason } = await setup('watch-failed-dup');
    const corrupt = join(root, 'corrupt.mp3');
    await writeFile(corrupt, Buffer.from(Array.from({ length: 48 * 1024 }, (_, i) => (i * 7919 + 13) % 251)));
    await drop('meetings/one.mp3', corrupt);
    await drop('meetings/two.mp3', corrupt);

    // WHEN the folder is processed once
    const { code, stdout } = await watch(join(root, 'out'));

    // THEN both ran and failed with the reason, in failed/: no "duplicate" of a failure
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/2 files: 0 done, 2 failed/);
    for (const name of ['one.mp3', 'two.mp3']) {
      expect(existsSync(join(root, 'drop', 'processed', 'meetings', name)), `${name} in processed/`).toBe(false);
      const r = await reason(`failed/meetings/${name}.reason.json`);
      expect(r.status).toBe('failed');
      expect(r.reason).toContain(name);
    }
    const [a, b] = [await reason('failed/meetings/one.mp3.reason.json'), await reason('failed/meetings/two.mp3.reason.json')];
    expect(a.jobId).not.toBe(b.jobId);
  });

  it('does not sweep an --out folder inside the drop folder as drops', async () => {
    // GIVEN a drop folder whose results go to DIR/results
    const { root, watch, drop } = await setup('watch-out-inside');
    const { path } = await toneSpeechFixture({ seed: 61, durationSeconds: 8, format: 'wav' });
    await drop('meetings/talk.wav', path);
    const out = join(root, 'drop', 'results');
    const first = await watch(out);
    expect(first.code, first.stdout).toBe(0);
    expect(existsSync(join(out, 'meetings', 'talk.json'))).toBe(true);

    // WHEN the folder is processed again with nothing new dropped
    const second = await watch(out);

    // THEN the results are not taken as drops: nothing ran, nothing failed, the results stay where they are
    expect(second.code, second.stdout).toBe(0);
    expect(second.stdout).toMatch(/0 files: 0 done, 0 failed/);
    expect(existsSync(join(root, 'drop', 'failed', 'results'))).toBe(false);
    expect(existsSync(join(out, 'meetings', 'talk.json'))).toBe(true);
  });
});
