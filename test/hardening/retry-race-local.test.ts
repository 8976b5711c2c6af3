/**
 * Issue 11, Low: ten concurrent `POST /jobs/{id}/retry` start one run *and record it right*, and a retried job
 * that fails again sends its `job.failed` with a webhook id of its own. Locally: `voxpipe serve` as a child
 * process, a source that fails at the split on every attempt, and a receiver that verifies the signed webhooks.
 * Before the fix every request answered 202 (the record got up to ten retries, lost updates aside) and both
 * failures carried one `webhook-id`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { scratchDir } from '../fixtures/audio.js';
import { voxpipe } from '../e2e/run-cli.js';
import { assertValidResponse } from '../api/openapi-contract.js';

const BIN = join(import.meta.dirname, '../../bin/voxpipe.mjs');
const SECRET = `whsec_${Buffer.from('retry-race-secret-0123456789abcdef').toString('base64')}`;

describe('voxpipe serve: concurrent retries of a failed job', () => {
  let receiver: Server;
  const delivered: { id: string; type: string; jobId: string }[] = [];
  let child: ChildProcess;
  let url = '';
  let workDir = '';
  let key = '';

  beforeAll(async () => {
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const payload = new Webhook(SECRET).verify(Buffer.concat(chunks).toString('utf8'), headers) as { type: string; data: { jobId: string } };
      delivered.push({ id: headers['webhook-id'] ?? '', type: payload.type, jobId: payload.data.jobId });
      res.writeHead(204).end();
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    workDir = await scratchDir('retry-race');
    const created = await voxpipe(['api-keys', 'create', 'acme', '--work-dir', workDir]);
    expect(created.code, created.stderr).toBe(0);
    key = created.stdout.trim();
    child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--work-dir', workDir], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TMPDIR: process.env.TMPDIR ?? '/tmp',
        VOXPIPE_PROVIDER: 'openai-compatible',
        VOXPIPE_MODEL: 'whisper-1',
        VOXPIPE_BASE_URL: 'http://127.0.0.1:9', // never called: the source fails at the split
        VOXPIPE_API_KEY: 'k',
        VOXPIPE_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        VOXPIPE_WEBHOOK_SECRET: SECRET,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (d) => {
        text += d;
        const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (m) resolve(m[1] ?? '');
      });
      child.once('exit', (c) => reject(new Error(`voxpipe serve exited ${c}`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  async function call(method: string, path: string, template: string, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as any;
    assertValidResponse(method, template, res.status, json);
    return { status: res.status, body: json };
  }

  const waitFailed = (id: string) =>
    expect.poll(async () => (await call('GET', `/jobs/${id}`, '/jobs/{jobId}')).body.state, { timeout: 60_000, interval: 50 }).toBe('failed');
  const failures = (id: string) => delivered.filter((d) => d.jobId === id && d.type === 'job.failed');

  it('one retry runs (202, attempt 2), nine get 409 naming it; the second failure has its own webhook id', async () => {
    const store = createFsStore(join(workDir, 'store'));
    await store.put('tenants/acme/inbox/broken.mp3', 'not audio at all '.repeat(100));
    const created = await call('POST', '/jobs', '/jobs', { source: { s3Key: 'tenants/acme/inbox/broken.mp3' } });
    const id = created.body.jobId as string;
    await waitFailed(id);
    await expect.poll(() => failures(id).length, { timeout: 30_000, interval: 50 }).toBe(1);

    // WHEN ten clients retry at once
    const answers = await Promise.all(Array.from({ length: 10 }, () => call('POST', `/jobs/${id}/retry`, '/jobs/{jobId}/retry')));

    // THEN exactly one started attempt 2; the others were told so
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(9).fill(409)]);
    expect(answers.find((a) => a.status === 202)?.body.attempt).toBe(2);
    for (const a of answers.filter((x) => x.status === 409)) {
      expect(a.body.error.attempt).toBe(2);
      expect(a.body.error.message).toMatch(/attempt 2/);
    }
    await waitFailed(id);
    // the record: one retry, attempt 2
    const view = await call('GET', `/jobs/${id}`, '/jobs/{jobId}');
    expect(view.body.attempt).toBe(2);
    const record = JSON.parse(new TextDecoder().decode(await store.get(`tenants/acme/jobs/${id}.json`)));
    expect(record.retries).toHaveLength(1);
    // the run happened once: one more job.failed, with an id other than the first failure's
    await expect.poll(() => failures(id).length, { timeout: 30_000, interval: 50 }).toBe(2);
    const [first, second] = failures(id);
    expect(second?.id).not.toBe(first?.id);

    // AND a later retry of the second failure is attempt 3, with a third id
    const third = await call('POST', `/jobs/${id}/retry`, '/jobs/{jobId}/retry');
    expect(third).toMatchObject({ status: 202, body: { attempt: 3 } });
    await waitFailed(id);
    await expect.poll(() => failures(id).length, { timeout: 30_000, interval: 50 }).toBe(3);
    expect(new Set(failures(id).map((f) => f.id)).size).toBe(3);
    expect(delivered.filter((d) => d.jobId === id).map((d) => d.type)).toEqual(['job.failed', 'job.failed', 'job.failed']);
  });

  it('a retry after jobs/ expired (retentionDays) still knows the job failed and runs with its options', async () => {
    const store = createFsStore(join(workDir, 'store'));
    await store.put('tenants/acme/inbox/late.mp3', 'still not audio '.repeat(100));
    const options = { language: 'fr', words: true, chunkSeconds: 30 };
    const created = await call('POST', '/jobs', '/jobs', { source: { s3Key: 'tenants/acme/inbox/late.mp3' }, options });
    const id = created.body.jobId as string;
    await waitFailed(id);
    await expect.poll(() => failures(id).length, { timeout: 30_000, interval: 50 }).toBe(1);
    // WHEN the lifecycle rule expired everything under jobs/<id>/ (request.json included); results/ is kept
    await rm(join(workDir, 'store', 'jobs', id), { recursive: true });
    expect((await call('GET', `/jobs/${id}`, '/jobs/{jobId}')).body).toMatchObject({ state: 'failed', reason: expect.stringMatching(/late\.mp3/) });

    // THEN a retry is accepted, writes the request again with the job's options, and the job runs (and fails) again
    expect(await call('POST', `/jobs/${id}/retry`, '/jobs/{jobId}/retry')).toMatchObject({ status: 202, body: { attempt: 2 } });
    const request = JSON.parse(new TextDecoder().decode(await store.get(`jobs/${id}/request.json`)));
    expect(request).toMatchObject({ jobId: id, tenant: 'acme', options, attempt: 2 });
    await waitFailed(id);
    await expect.poll(() => failures(id).length, { timeout: 30_000, interval: 50 }).toBe(2);
  });
});
