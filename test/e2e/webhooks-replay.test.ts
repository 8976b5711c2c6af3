/** `voxpipe webhooks replay <jobId>` as users run it: a child process, a local store, a verifying receiver. */
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createWebhookDelivery, type DeadLetterRecord, deadLetterKey, storeDeadLetters } from '../../shared/adapters/webhook-delivery.js';
import { webhookIdOf, webhookMessageOf, type WebhookPayload } from '../../shared/adapters/webhook-notifier.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { BlobStore } from '../../shared/ports.js';
import { FakeClock } from '../doubles/fake-clock.js';
import { scratchDir } from '../fixtures/audio.js';
import { voxpipe } from './run-cli.js';

const SECRET = `whsec_${Buffer.from('replay-webhook-secret-0123456789abcd').toString('base64')}`;

interface Delivery {
  readonly id: string;
  readonly body: string;
  readonly payload: WebhookPayload;
}

describe('voxpipe webhooks replay', () => {
  let server: Server;
  let hookUrl: string;
  let closedUrl: string;
  const verified: Delivery[] = [];
  let answer = 204;

  beforeAll(async () => {
    const verifier = new Webhook(SECRET);
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (answer !== 204) return void res.writeHead(answer).end();
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        verified.push({ id: headers['webhook-id'] ?? '', body, payload: verifier.verify(body, headers) as WebhookPayload });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    closedUrl = `http://127.0.0.1:${closedPort}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    verified.length = 0;
    answer = 204;
  });

  /** A dead-letter record as a local run leaves it: the real delivery, against a receiver that is not there. */
  async function deadLettered(work: string, jobId: string): Promise<{ store: BlobStore; record: DeadLetterRecord }> {
    const store = createFsStore(join(work, 'store'));
    const delivery = createWebhookDelivery({ url: closedUrl, secret: SECRET, urlPolicy: { mode: 'local' }, clock: new FakeClock(), schedule: [], deadLetter: storeDeadLetters(store) });
    const event = { type: 'job.failed', jobId, source: '/audio/broken.mp3', reason: 'broken.mp3: not audio', resultKeys: [jobKeys(jobId).result('json')] } as const;
    const outcome = await delivery.deliver(webhookMessageOf(event, {}, new Date('2026-11-24T10:00:00Z')));
    expect(outcome.result).toBe('dead-lettered');
    const record = JSON.parse(new TextDecoder().decode(await store.get(deadLetterKey(jobId, outcome.webhookId)))) as DeadLetterRecord;
    return { store, record };
  }

  it('re-sends a dead-lettered event with the same webhook-id and body, verified by the receiver, and removes the record', async () => {
    // GIVEN a job whose job.failed webhook was dead-lettered
    const work = await scratchDir('replay-dead-letter');
    const { store, record } = await deadLettered(work, 'job-replay-1');

    // WHEN it is replayed to the receiver, now up
    const { code, stdout, stderr } = await voxpipe(['webhooks', 'replay', 'job-replay-1', '--work-dir', work, '--webhook', hookUrl, '--webhook-secret', SECRET]);

    // THEN the receiver verified the original event, once, under its original id
    expect(code, stderr).toBe(0);
    expect(verified).toHaveLength(1);
    expect(verified[0]!.id).toBe(record.webhookId);
    expect(verified[0]!.body).toBe(record.body);
    expect(verified[0]!.payload).toMatchObject({ type: 'job.failed', timestamp: '2026-11-24T10:00:00.000Z', data: { jobId: 'job-replay-1', reason: 'broken.mp3: not audio' } });
    expect(stdout).toContain(`webhook job.failed ${record.webhookId}: delivered (HTTP 204)`);
    expect(await store.exists(deadLetterKey('job-replay-1', record.webhookId))).toBe(false);
  });

  it('keeps the record and exits 1 when the receiver still fails', async () => {
    const work = await scratchDir('replay-still-down');
    const { store, record } = await deadLettered(work, 'job-replay-2');
    answer = 503;
    const { code, stdout } = await voxpipe(['webhooks', 'replay', 'job-replay-2', '--work-dir', work, '--webhook', hookUrl], { VOXPIPE_WEBHOOK_SECRET: SECRET });
    expect(code).toBe(1);
    expect(stdout).toContain('failed (HTTP 503)');
    expect(await store.exists(deadLetterKey('job-replay-2', record.webhookId))).toBe(true);
  });

  it('rebuilds the final event from the stored result when nothing was dead-lettered', async () => {
    // GIVEN a completed job in the local store (no dead letter)
    const work = await scratchDir('replay-result');
    const jobId = 'job-replay-3';
    const dir = join(work, 'store', 'results', jobId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'transcript.json'), JSON.stringify({ id: jobId, source: '/audio/talk.mp3', status: 'completed', durationSeconds: 42, text: 'Welcome to the talk.', segments: [] }));
    await writeFile(join(dir, 'transcript.txt'), 'Welcome to the talk.\n');

    // WHEN it is replayed (receiver from the environment)
    const { code, stderr } = await voxpipe(['webhooks', 'replay', jobId, '--work-dir', work], { VOXPIPE_WEBHOOK_URL: hookUrl, VOXPIPE_WEBHOOK_SECRET: SECRET });

    // THEN job.completed arrives under the id every delivery of that event has
    expect(code, stderr).toBe(0);
    expect(verified.map((d) => d.id)).toEqual([webhookIdOf({ type: 'job.completed', jobId, source: '', resultKeys: [] })]);
    expect(verified[0]!.payload.data).toMatchObject({ jobId, status: 'completed', durationSeconds: 42, snippet: 'Welcome to the talk.' });
    expect(Object.keys(verified[0]!.payload.data.links ?? {}).sort()).toEqual(['json', 'txt']);
  });

  it('fails with exit 1 for an unknown job and exit 2 without a secret', async () => {
    const work = await scratchDir('replay-unknown');
    const unknown = await voxpipe(['webhooks', 'replay', 'no-such-job', '--work-dir', work, '--webhook', hookUrl, '--webhook-secret', SECRET]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no-such-job has no dead-lettered webhook and no result/);
    const noSecret = await voxpipe(['webhooks', 'replay', 'no-such-job', '--work-dir', work, '--webhook', hookUrl]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/--webhook-secret/);
  });
});
