/**
 * The job API locally: `voxpipe serve` as a child process (real HTTP on 127.0.0.1), the embedded pipeline
 * behind it, an OpenAI-compatible provider double that decodes tone-language audio. Every request and
 * response is checked against api/openapi.yaml.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../../cli/commands/jobs-action.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createApiKey } from '../../shared/api/api-keys.js';
import type { Transcript } from '../../shared/core/types.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { voxpipe } from '../e2e/run-cli.js';
import { assertValidRequest, assertValidResponse } from './openapi-contract.js';

const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');

interface Served {
  readonly url: string;
  readonly workDir: string;
  stop(): Promise<void>;
}

/** `voxpipe serve --port 0`, resolved once it prints the URL it listens on. */
async function serve(double: ProviderDouble): Promise<Served> {
  const workDir = await scratchDir('serve');
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--work-dir', workDir], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TMPDIR: process.env.TMPDIR ?? '/tmp',
      VOXPIPE_PROVIDER: 'openai-compatible',
      VOXPIPE_MODEL: 'whisper-1',
      VOXPIPE_BASE_URL: double.url,
      VOXPIPE_API_KEY: 'test-key',
      VOXPIPE_CONCURRENCY: '1',
      VOXPIPE_CHUNK_SECONDS: '10',
      VOXPIPE_TIMEOUT_SECONDS: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`voxpipe serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    workDir,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** One API call over HTTP, validated against the OpenAPI document (`template`: the documented path). */
async function call(base: string, method: string, path: string, opts: { key?: string; body?: unknown; template?: string } = {}) {
  if (opts.body !== undefined && method === 'POST' && path === '/jobs') assertValidRequest(method, '/jobs', opts.body);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const body = (await res.json()) as any;
  assertValidResponse(method, opts.template ?? path.split('?')[0]!, res.status, body);
  return { status: res.status, body };
}

describe('voxpipe serve: the job API on 127.0.0.1', () => {
  let double: ProviderDouble;
  let server: Served;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    // The first provider call is rejected (400), so the first job fails and can be retried.
    double = await startProviderDouble({
      vendor: 'openai-compatible',
      recognize: recognizeTones,
      apiKey: 'test-key',
      latencyMs: () => 250,
      faults: { byCall: { 1: { kind: 'status', status: 400, message: 'audio rejected' } } },
    });
    server = await serve(double);
    const created = await voxpipe(['api-keys', 'create', 'acme', '--work-dir', server.workDir]);
    expect(created.code, created.stderr).toBe(0);
    key = created.stdout.trim();
    otherKey = await createApiKey(createFsStore(join(server.workDir, 'store')), 'globex');
  });
  afterAll(async () => {
    await server?.stop();
    await double?.close();
  });

  it('rejects bad requests (400 naming the field), missing or wrong keys (401) and other tenants (404)', async () => {
    // The request is invalid per the document too, so it is sent without the request check.
    const res = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ source: { upload: true }, options: { chunkSeconds: 'long' } }) });
    const body = (await res.json()) as any;
    assertValidResponse('POST', '/jobs', res.status, body);
    expect(res.status).toBe(400);
    expect(body.error.field).toBe('options.chunkSeconds');

    expect((await call(server.url, 'GET', '/jobs')).status).toBe(401);
    expect((await call(server.url, 'GET', '/jobs', { key: 'vxp_wrong' })).status).toBe(401);

    const created = await call(server.url, 'POST', '/jobs', { key, body: { source: { upload: true } } });
    const asOther = await call(server.url, 'GET', `/jobs/${created.body.jobId}`, { key: otherKey, template: '/jobs/{jobId}' });
    expect(asOther.status).toBe(404);
  });

  it('runs an s3Key job that fails at the provider, lists it as failed, and retries it to completion', async () => {
    // GIVEN a recording already in the tenant's own inbox (tenants/<tenant>/inbox/)
    const { path, words } = await toneSpeechFixture({ seed: 41, durationSeconds: 24, format: 'mp3' });
    await createFsStore(join(server.workDir, 'store')).putFile('tenants/acme/inbox/meeting.mp3', path);

    const created = await call(server.url, 'POST', '/jobs', { key, body: { source: { s3Key: 'tenants/acme/inbox/meeting.mp3' }, options: { words: true } } });
    expect(created.status).toBe(202);
    const id = created.body.jobId as string;
    const failed = await waitForState(server.url, key, id, 'failed');
    expect(failed.reason).toMatch(/audio rejected/);
    const listed = await call(server.url, 'GET', '/jobs?status=failed', { key, template: '/jobs' });
    expect(listed.body.jobs.map((j: any) => j.jobId)).toEqual([id]);

    // WHEN it is retried
    const callsBefore = double.calls;
    const retried = await call(server.url, 'POST', `/jobs/${id}/retry`, { key, template: '/jobs/{jobId}/retry' });
    expect(retried.status).toBe(202);
    const done = await waitForState(server.url, key, id, 'completed');

    // THEN only the failed chunk was sent again, and the transcript has every word once
    expect(double.calls - callsBefore).toBe(1);
    const t = (await (await fetch(link(done, 'transcript.json'))).json()) as Transcript;
    expect(t.words?.map((w) => w.word)).toEqual(words.map((w) => w.word));
  });

  it('accepts an upload through the presigned PUT URL and reports progress while it runs', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 42, durationSeconds: 50, format: 'mp3' });

    const created = await call(server.url, 'POST', '/jobs', { key, body: { source: { upload: true, fileName: 'talk.mp3' }, options: { words: true, language: 'en' } } });
    expect(created.status).toBe(202);
    expect(created.body.uploadUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/uploads\//);
    const id = created.body.jobId as string;
    expect((await call(server.url, 'GET', `/jobs/${id}`, { key, template: '/jobs/{jobId}' })).body.state).toBe('awaiting_upload');

    // A tampered URL is refused; the real one takes the upload once.
    expect((await fetch(created.body.uploadUrl.replace(/sig=./, 'sig=x'), { method: 'PUT', body: 'x' })).status).toBe(403);
    const put = await fetch(created.body.uploadUrl, { method: 'PUT', body: await readFile(path) });
    expect(put.status).toBe(200);
    expect((await fetch(created.body.uploadUrl, { method: 'PUT', body: 'again' })).status).toBe(409);

    // Progress while running: transcribing with some but not all chunks done.
    const seen: { state: string; done: number; total: number | null }[] = [];
    const done = await waitForState(server.url, key, id, 'completed', (job) => seen.push({ state: job.state, done: job.progress.chunksDone, total: job.progress.chunksTotal }));
    const midway = seen.filter((s) => s.state === 'transcribing' && s.total !== null && s.done > 0 && s.done < s.total);
    expect(midway.length, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(done.progress.chunksDone).toBe(done.progress.chunksTotal);
    expect(done.timings.finishedAt).toBeDefined();
    expect(done.usage.audioSeconds).toBeGreaterThan(45);
    expect(done.results.files.map((f: any) => f.name).sort()).toEqual(['transcript.json', 'transcript.srt', 'transcript.txt', 'transcript.vtt']);

    const t = (await (await fetch(link(done, 'transcript.json'))).json()) as Transcript;
    expect(t.status).toBe('completed');
    expect(t.source).toContain('talk.mp3');
    expect(t.words?.map((w) => w.word)).toEqual(words.map((w) => w.word));
    // Options reached the provider.
    expect(double.requests.at(-1)?.body?.language).toBe('en');

    // `voxpipe jobs list` sees it in the same store; nothing is stuck.
    const store = createFsStore(join(server.workDir, 'store'));
    expect((await listJobs(store, { status: 'completed', deadlineMs: 60_000, now: Date.now() })).map((j) => j.jobId)).toContain(id);
    expect(await listJobs(store, { stuck: true, deadlineMs: 60_000, now: Date.now() })).toEqual([]);
    const cli = await voxpipe(['jobs', 'list', '--status', 'completed', '--work-dir', server.workDir]);
    expect(cli.stdout).toContain(id);
  });
});

/** Poll `GET /jobs/{id}` until `state` (fails fast on the other terminal state). */
async function waitForState(base: string, key: string, id: string, state: string, onPoll?: (job: any) => void, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await call(base, 'GET', `/jobs/${id}`, { key, template: '/jobs/{jobId}' });
    onPoll?.(body);
    if (body.state === state) return body;
    if (body.state === 'completed' || body.state === 'failed') throw new Error(`job ${id} ended ${body.state} (${body.reason}), expected ${state}`);
    if (Date.now() > deadline) throw new Error(`job ${id}: still ${body.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function link(job: any, name: string): string {
  const file = job.results.files.find((f: any) => f.name === name);
  if (!file) throw new Error(`no ${name} in ${JSON.stringify(job.results)}`);
  return file.url;
}
