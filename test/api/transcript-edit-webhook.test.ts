/**
 * A correction through `voxpipe serve` (in process, real HTTP) sends `job.transcript.edited` to the configured
 * webhook, signed per Standard Webhooks, and the edit is visible through the job API.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedJob, syntheticTranscript } from '../../bench/dashboard-fixture.js';
import { type ApiServer, startApiServer } from '../../cli/commands/serve-action.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import type { WebhookPayload } from '../../shared/adapters/webhook-notifier.js';
import { createApiKey } from '../../shared/api/api-keys.js';
import { loadConfig } from '../../shared/config.js';
import { silentLogger } from '../e2e/local-harness.js';
import { scratchDir } from '../fixtures/audio.js';

const SECRET = `whsec_${Buffer.from('edit-webhook-secret-0123456789abcdef').toString('base64')}`;
const JOB = 'edit0000000000000001';

describe('job.transcript.edited from voxpipe serve', () => {
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  let server: ApiServer;
  let key: string;

  beforeAll(async () => {
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const workDir = await scratchDir('edit-webhook');
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    await seedJob(workDir, 'acme', syntheticTranscript({ id: JOB, source: `uploads/${JOB}/talk.mp3`, seconds: 60, words: 120 }), { fileName: 'talk.mp3' });
    key = await createApiKey(createFsStore(`${workDir}/store`), 'acme');
    server = await startApiServer({ config: loadConfig({}, { VOXPIPE_WORK_DIR: workDir, VOXPIPE_WEBHOOK_URL: url, VOXPIPE_WEBHOOK_SECRET: SECRET }), logger: silentLogger, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    receiver.close();
  });

  it('delivers a signed job.transcript.edited with the new revision', async () => {
    const res = await fetch(`${server.url}/jobs/${JOB}/transcript/revisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ baseRevision: 0, segments: [{ id: 0, text: 'Corrected first segment.' }] }),
    });
    expect(res.status).toBe(201);

    await expect.poll(() => received.length, { timeout: 30_000 }).toBe(1);
    const [hook] = received;
    const payload = new Webhook(SECRET).verify(hook!.body, {
      'webhook-id': String(hook!.headers['webhook-id']),
      'webhook-timestamp': String(hook!.headers['webhook-timestamp']),
      'webhook-signature': String(hook!.headers['webhook-signature']),
    }) as WebhookPayload;
    expect(payload.type).toBe('job.transcript.edited');
    expect(payload.data).toMatchObject({ jobId: JOB, revision: 1, status: 'completed', source: `uploads/${JOB}/talk.mp3` });
    expect(payload.data.resultKeys).toContain(`results/${JOB}/transcript.srt`);

    const current = await fetch(`${server.url}/jobs/${JOB}/transcript`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await current.json()) as { revision: { number: number }; segments: { text: string }[] };
    expect(body.revision.number).toBe(1);
    expect(body.segments[0]?.text).toBe('Corrected first segment.');
  });
});
