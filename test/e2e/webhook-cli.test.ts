/** `voxpipe transcribe --webhook … --webhook-secret …` as users run it: a child process and a verifying receiver. */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { voxpipe } from './run-cli.js';
import { createLocalPipeline, LOCAL_WEBHOOK_SCHEDULE_MS } from '../../cli/local-pipeline.js';
import { deadLetterKey } from '../../shared/adapters/webhook-delivery.js';
import type { WebhookPayload } from '../../shared/adapters/webhook-notifier.js';
import { loadConfig } from '../../shared/config.js';
import { scheduleSpanMs } from '../../shared/core/webhook-policy.js';
import { type ChatDouble, startChatDouble } from '../doubles/chat-server.js';
import { FakeClock } from '../doubles/fake-clock.js';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { randomBytesFile, scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { silentLogger } from './local-harness.js';

const SECRET = `whsec_${Buffer.from('e2e-webhook-secret-0123456789abcdef').toString('base64')}`;


interface Delivery {
  readonly id: string;
  readonly payload: WebhookPayload;
}

describe('voxpipe transcribe --webhook', () => {
  let double: ProviderDouble;
  let server: Server;
  let hookUrl: string;
  const verified: Delivery[] = [];
  const rejected: string[] = [];
  let failFirst = 0;

  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'k' });
    const verifier = new Webhook(SECRET);
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (failFirst > 0) {
        failFirst--;
        res.writeHead(503).end();
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      try {
        const payload = verifier.verify(Buffer.concat(chunks).toString('utf8'), headers) as WebhookPayload;
        verified.push({ id: headers['webhook-id'] ?? '', payload });
        res.writeHead(204).end();
      } catch (err) {
        rejected.push(String(err));
        res.writeHead(400).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await double.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const providerEnv = (work: string) => ({
    VOXPIPE_PROVIDER: 'openai-compatible',
    VOXPIPE_MODEL: 'whisper-1',
    VOXPIPE_BASE_URL: double.url,
    OPENAI_API_KEY: 'k',
    VOXPIPE_WORK_DIR: work,
  });

  it('delivers a verified job.completed with duration, snippet and links, and a job.failed for a bad file', async () => {
    const { path } = await toneSpeechFixture({ seed: 5, durationSeconds: 12, format: 'wav' });
    const bad = await randomBytesFile('webhook-broken.mp3');
    const out = await scratchDir('webhook-cli');
    const { code, stdout, stderr } = await voxpipe(
      ['transcribe', path, bad, '--out', out, '--webhook', hookUrl, '--webhook-secret', SECRET],
      providerEnv(join(out, 'work')),
    );
    expect(code, stderr).toBe(1); // the bad file fails the run
    expect(rejected).toEqual([]);
    const done = verified.find((d) => d.payload.type === 'job.completed');
    expect(done?.id).toMatch(/^msg_/);
    expect(done?.payload.data).toMatchObject({ status: 'completed', source: path, durationSeconds: expect.any(Number) });
    expect(done?.payload.data.durationSeconds).toBeGreaterThan(11);
    expect(done?.payload.data.snippet?.length).toBeGreaterThan(0);
    const jsonLink = done?.payload.data.links?.json;
    expect(jsonLink).toMatch(/^file:\/\//);
    const linked = JSON.parse(await readFile(fileURLToPath(jsonLink!), 'utf8')) as { status: string };
    expect(linked.status).toBe('completed');
    const failed = verified.find((d) => d.payload.type === 'job.failed');
    expect(failed?.payload.data).toMatchObject({ status: 'failed', source: bad, reason: expect.stringMatching(/webhook-broken\.mp3/) });
    expect(stdout).toMatch(/webhook job\.completed: delivered after 1 attempt/);
    expect(stdout).toMatch(/webhook job\.failed: delivered after 1 attempt/);
  });

  it('sends job.completed once, after the enrichments, with data.enrichment saying how each part ended', async () => {
    // GIVEN Mistral transcription and chat doubles whose German replies are always malformed
    const stt = await startProviderDouble({ vendor: 'mistral', recognize: recognizeTones, apiKey: 'k' });
    const chat: ChatDouble = await startChatDouble({ vendor: 'mistral', apiKey: 'k', faults: (i) => (i.language === 'de' ? { kind: 'malformed' } : undefined) });
    try {
      verified.length = 0;
      const { path } = await toneSpeechFixture({ seed: 6, durationSeconds: 20, format: 'wav' });
      const out = await scratchDir('webhook-cli-enrich');
      // WHEN the CLI transcribes with translations and a summary, and a webhook
      const { code, stderr } = await voxpipe(['transcribe', path, '--out', out, '--translate', 'fr,de', '--summary', '--webhook', hookUrl, '--webhook-secret', SECRET], {
        VOXPIPE_PROVIDER: 'mistral',
        VOXPIPE_MODEL: 'voxtral-mini-latest',
        VOXPIPE_BASE_URL: stt.url,
        VOXPIPE_API_KEY: 'k',
        VOXPIPE_CHAT_BASE_URL: chat.url,
        VOXPIPE_CHAT_MODEL: 'voxtral-small-latest',
        VOXPIPE_WORK_DIR: join(out, 'work'),
      });
      expect(code, stderr).toBe(0);
      // THEN the receiver got one job.completed, sent after the enrichments, with their outcome and files
      const completed = verified.filter((d) => d.payload.type === 'job.completed');
      expect(completed).toHaveLength(1);
      expect(completed[0]!.payload.data.enrichment).toEqual({
        status: 'partial',
        parts: { 'translation:fr': { status: 'ok' }, 'translation:de': { status: 'failed', reason: expect.any(String) }, summary: { status: 'ok' } },
      });
      expect(Object.keys(completed[0]!.payload.data.links ?? {})).toEqual(expect.arrayContaining(['json', 'srt']));
    } finally {
      await stt.close();
      await chat.close();
    }
  });

  it('takes the webhook from the environment and retries a receiver that is briefly down', async () => {
    verified.length = 0;
    failFirst = 1; // one 503; the local schedule retries after 5 s
    const bad = await randomBytesFile('webhook-env.mp3');
    const out = await scratchDir('webhook-cli-env');
    const { stdout } = await voxpipe(['transcribe', bad, '--out', out], {
      ...providerEnv(join(out, 'work')),
      VOXPIPE_WEBHOOK_URL: hookUrl,
      VOXPIPE_WEBHOOK_SECRET: SECRET,
    });
    expect(verified.map((d) => d.payload.type)).toEqual(['job.failed']);
    expect(stdout).toMatch(/webhook job\.failed: delivered after 2 attempts/);
  });

  it('records a dead letter in the work dir when the receiver stays unreachable (local pipeline, fake clock)', async () => {
    // GIVEN a URL nothing listens on
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const work = await scratchDir('webhook-dead');
    const config = loadConfig({ ...providerEnv(work), VOXPIPE_WEBHOOK_URL: `http://127.0.0.1:${closed}/x`, VOXPIPE_WEBHOOK_SECRET: SECRET });
    const clock = new FakeClock();
    const pipeline = createLocalPipeline({ config, logger: silentLogger, webhook: { clock } });
    const bad = await randomBytesFile('webhook-dead.mp3');

    // WHEN a job ends
    const result = await clock.runUntilSettled(pipeline.transcribe(bad, 'webhook-dead', { words: false, diarize: false, force: true }));

    // THEN the local schedule (5 s, 30 s, 2 min) is used up and the event is kept for inspection
    expect(clock.sleeps).toEqual(LOCAL_WEBHOOK_SCHEDULE_MS);
    expect(scheduleSpanMs(LOCAL_WEBHOOK_SCHEDULE_MS)).toBeLessThanOrEqual(3 * 60_000);
    expect(result.webhooks?.map((w) => [w.type, w.result, w.attempts.length])).toEqual([['job.failed', 'dead-lettered', 4]]);
    const [webhookId] = result.webhooks!.map((w) => w.webhookId);
    const record = JSON.parse(new TextDecoder().decode(await result.store.get(deadLetterKey(result.jobId, webhookId!))));
    expect(record).toMatchObject({ type: 'job.failed', jobId: result.jobId, url: `http://127.0.0.1:${closed}/x`, result: 'dead-lettered' });
    expect(record.reason).toMatch(/ECONNREFUSED/);
  });

  it('fails with exit code 2 for a secret that is not whsec_', async () => {
    const { code, stderr } = await voxpipe(['transcribe', 'x.mp3', '--webhook', hookUrl, '--webhook-secret', 'hunter2']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/VOXPIPE_WEBHOOK_SECRET/);
  });

  it('documents the webhook flags and variables in --help', async () => {
    const { stdout } = await voxpipe(['transcribe', '--help']);
    for (const s of ['--webhook', '--webhook-secret', 'VOXPIPE_WEBHOOK_URL', 'VOXPIPE_WEBHOOK_SECRET']) expect(stdout).toContain(s);
  });
});
