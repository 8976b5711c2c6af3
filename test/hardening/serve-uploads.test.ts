/**
 * Issue 11, Medium 5: two concurrent PUTs to one local upload URL never splice the stored file: each request
 * writes its own temp file, the first to claim the object wins, the other gets 409.
 */
import { request } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../cli/commands/serve-action.js';
import { createApiKey } from '../../shared/api/api-keys.js';
import { loadConfig } from '../../shared/config.js';
import { silentLogger } from '../e2e/local-harness.js';
import { scratchDir } from '../fixtures/audio.js';

/** A PUT whose body is written by the test, part by part (chunked), so requests can be interleaved. */
function slowPut(url: string) {
  const req = request(url, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  return { write: (b: Buffer) => new Promise<void>((r) => req.write(b, () => r())), end: () => req.end(), status };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('voxpipe serve: concurrent uploads to one URL', () => {
  let server: ApiServer;
  let workDir: string;
  beforeAll(async () => {
    workDir = await scratchDir('serve-uploads');
    server = await startApiServer({ config: loadConfig({ VOXPIPE_WORK_DIR: workDir }), logger: silentLogger, port: 0 });
  });
  afterAll(() => server?.close());

  /** Bytes written so far to upload temp files. */
  const tmpBytes = async () => {
    const dir = join(workDir, 'tmp');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('upload-'));
    const sizes = await Promise.all(names.map((n) => stat(join(dir, n)).then((s) => s.size, () => 0)));
    return sizes.reduce((a, b) => a + b, 0);
  };

  it('stores exactly one of the bodies and answers the other 409', async () => {
    const key = await createApiKey(server.store, 'acme');
    const created = await fetch(`${server.url}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: { upload: true, fileName: 'talk.mp3' } }),
    });
    const { jobId, uploadUrl } = (await created.json()) as { jobId: string; uploadUrl: string };
    const half = 64 * 1024;
    const bodyA = Buffer.alloc(2 * half, 'A');
    const bodyB = Buffer.alloc(2 * half, 'B');

    const a = slowPut(uploadUrl);
    await a.write(bodyA.subarray(0, half));
    await until(async () => (await tmpBytes()) >= half, 'the first half of A');
    const b = slowPut(uploadUrl);
    await b.write(bodyB);
    await until(async () => (await tmpBytes()) >= 2 * half, 'all of B');
    await a.write(bodyA.subarray(half));
    a.end();
    const statusA = await a.status;
    b.end();
    const statusB = await b.status;

    expect([statusA, statusB].sort()).toEqual([200, 409]);
    const stored = Buffer.from(await server.store.get(`uploads/${jobId}/talk.mp3`));
    expect(stored.equals(statusA === 200 ? bodyA : bodyB)).toBe(true);
  });
});

describe('voxpipe serve logs', () => {
  it('never log a signed link with its signature (an aborted upload is logged without sig)', async () => {
    const workDir = await scratchDir('serve-logs');
    const lines: string[] = [];
    const capture = { debug() {}, info() {}, warn: (m: string, f?: object) => void lines.push(`${m} ${JSON.stringify(f)}`), error: (m: string, f?: object) => void lines.push(`${m} ${JSON.stringify(f)}`) };
    const server = await startApiServer({ config: loadConfig({ VOXPIPE_WORK_DIR: workDir }), logger: capture, port: 0 });
    try {
      const key = await createApiKey(server.store, 'acme');
      const created = await fetch(`${server.url}/jobs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"source":{"upload":true}}' });
      const { uploadUrl } = (await created.json()) as { uploadUrl: string };
      const sig = new URL(uploadUrl).searchParams.get('sig') ?? '';
      expect(sig.length).toBeGreaterThan(10);
      const put = request(uploadUrl, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } });
      put.on('error', () => undefined);
      await new Promise<void>((r) => put.write(Buffer.alloc(1024), () => r()));
      await until(async () => {
        const names = await readdir(join(workDir, 'tmp')).catch(() => [] as string[]);
        return names.some((n) => n.startsWith('upload-'));
      }, 'the upload to start');
      put.destroy();
      await until(async () => lines.some((l) => l.includes('request failed')), 'the failure to be logged');
      expect(lines.join('\n')).not.toContain(sig);
      expect(lines.join('\n')).toContain('sig=REDACTED');
    } finally {
      await server.close();
    }
  });
});
