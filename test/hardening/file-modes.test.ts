/**
 * Issue 11, Low: what the local runtime writes is the user's alone. After real runs (`voxpipe transcribe` with
 * `--out` and `--verbose`, and an upload job through `voxpipe serve`), every file under the work dir and the
 * output folder is 0600 and every folder voxpipe made is 0700. Files were 0644 before.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { voxpipe } from '../e2e/run-cli.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';

const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');

/** `path: mode` (octal) of everything under `root`, `root` excluded. */
async function modesUnder(root: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const mode = ((await lstat(path)).mode & 0o777).toString(8);
      const line = `${path.slice(root.length + 1)}: ${mode}`;
      if (entry.isDirectory()) {
        dirs.push(line);
        await walk(path);
      } else files.push(line);
    }
  }
  await walk(root);
  return { files, dirs };
}

function expectPrivate(found: { files: string[]; dirs: string[] }) {
  expect(found.files.length).toBeGreaterThan(0);
  expect(found.files.filter((l) => !l.endsWith(': 600'))).toEqual([]);
  expect(found.dirs.filter((l) => !l.endsWith(': 700'))).toEqual([]);
}

const providerEnv = (double: ProviderDouble) => ({
  VOXPIPE_PROVIDER: 'openai-compatible',
  VOXPIPE_MODEL: 'whisper-1',
  VOXPIPE_BASE_URL: double.url,
  OPENAI_API_KEY: 'k',
  VOXPIPE_API_KEY: 'k',
});

describe('file modes of a local run', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
  });
  afterAll(() => double?.close());

  it('voxpipe transcribe: store, results (--out), log and work dir are 0600 files in 0700 folders', async () => {
    const { path } = await toneSpeechFixture({ seed: 91, durationSeconds: 25, format: 'mp3' });
    const dir = await scratchDir('modes-cli');
    const work = join(dir, 'work');
    const out = join(dir, 'out', 'nested');
    const { code, stderr } = await voxpipe(['transcribe', path, '--out', out, '--verbose', '--no-progress', '--chunk-seconds', '10'], {
      ...providerEnv(double),
      VOXPIPE_WORK_DIR: work,
    });
    expect(code, stderr).toBe(0);
    expect((await readdir(out)).sort()).toContain(`${path.split('/').pop()?.replace(/\.mp3$/, '')}.json`);
    const found = await modesUnder(dir);
    expect(found.files.some((l) => l.startsWith('work/voxpipe.log:'))).toBe(true);
    expect(found.files.some((l) => l.startsWith('work/store/results/'))).toBe(true);
    expectPrivate(found);
  });

  it('voxpipe serve: an uploaded source, its job state and results are 0600 files in 0700 folders', async () => {
    const dir = await scratchDir('modes-serve');
    const work = join(dir, 'work');
    const created = await voxpipe(['api-keys', 'create', 'acme', '--work-dir', work]);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--work-dir', work], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TMPDIR: process.env.TMPDIR ?? '/tmp', ...providerEnv(double), VOXPIPE_CHUNK_SECONDS: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout?.on('data', (d) => {
          text += d;
          const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
          if (m) resolve(m[1] ?? '');
        });
        child.once('exit', (c) => reject(new Error(`voxpipe serve exited ${c}`)));
      });
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const job = (await (await fetch(`${url}/jobs`, { method: 'POST', headers: auth, body: '{"source":{"upload":true,"fileName":"talk.mp3"}}' })).json()) as {
        jobId: string;
        uploadUrl: string;
      };
      const { path } = await toneSpeechFixture({ seed: 92, durationSeconds: 15, format: 'mp3' });
      expect((await fetch(job.uploadUrl, { method: 'PUT', body: await readFile(path) })).status).toBe(200);
      await expect
        .poll(async () => ((await (await fetch(`${url}/jobs/${job.jobId}`, { headers: auth })).json()) as { state: string }).state, { timeout: 60_000, interval: 100 })
        .toBe('completed');
    } finally {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    const found = await modesUnder(dir);
    expect(found.files.some((l) => l.startsWith('work/store/uploads/'))).toBe(true);
    expectPrivate(found);
  });
});
