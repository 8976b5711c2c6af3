/**
 * Webhook delivery against a real receiver on 127.0.0.1 that verifies every request with the
 * `standardwebhooks` library, fails on purpose (503s, a hang, a 410, a redirect) and records what it got.
 * Backoff runs on a fake clock; only the per-attempt timeout of the hanging request takes real time.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpSender, createWebhookDelivery, type DeadLetterRecord, type WebhookDeliveryOptions } from '../../shared/adapters/webhook-delivery.js';
import { createWebhookNotifier, webhookIdOf, type WebhookPayload } from '../../shared/adapters/webhook-notifier.js';
import { maxAttemptsOf, scheduleSpanMs, WEBHOOK_RETRY_SCHEDULE_MS } from '../../shared/core/webhook-policy.js';
import type { JobEvent } from '../../shared/ports.js';
import { FakeClock } from '../doubles/fake-clock.js';

const SECRET = `whsec_${Buffer.from('voxpipe-test-secret-32-bytes-long').toString('base64')}`;

type Behaviour = number | 'hang';

interface Received {
  readonly webhookId: string;
  readonly jobId: string;
  /** Fake-clock time the request arrived. */
  readonly at: number;
  readonly signature: string;
  readonly verified: boolean;
  readonly payload?: WebhookPayload;
  readonly status: number | 'hang';
}

/** A receiver whose answers are scripted per job id; unscripted requests get 200. */
class Receiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, Behaviour[]>();
  private readonly verifier = new Webhook(SECRET);
  private server!: Server;

  constructor(private readonly clock: FakeClock) {}

  script(jobId: string, behaviours: Behaviour[]): void {
    this.scripts.set(jobId, [...behaviours]);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** Requests answered 2xx, per webhook id: what "delivered" means to the receiver. */
  deliveries(webhookId: string): Received[] {
    return this.received.filter((r) => r.webhookId === webhookId && typeof r.status === 'number' && r.status < 300);
  }

  of(jobId: string): Received[] {
    return this.received.filter((r) => r.jobId === jobId);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    let payload: WebhookPayload | undefined;
    let verified = false;
    try {
      payload = this.verifier.verify(body, headers) as WebhookPayload;
      verified = true;
    } catch {
      payload = undefined;
    }
    const jobId = payload?.data.jobId ?? (JSON.parse(body) as WebhookPayload).data.jobId;
    const status = this.scripts.get(jobId)?.shift() ?? 200;
    this.received.push({ webhookId: headers['webhook-id'] ?? '', jobId, at: this.clock.now(), signature: headers['webhook-signature'] ?? '', verified, payload, status });
    if (status === 'hang') return; // never answers; the sender's attempt timeout must end it
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
  }
}

const completed = (jobId: string): JobEvent => ({ type: 'job.completed', jobId, source: `in/${jobId}.mp3`, resultKeys: [`results/${jobId}/transcript.json`] });
const failed = (jobId: string): JobEvent => ({ type: 'job.failed', jobId, source: `in/${jobId}.mp3`, reason: 'corrupt audio', resultKeys: [] });

describe('webhook delivery against a verifying receiver', () => {
  const clock = new FakeClock();
  const receiver = new Receiver(clock);
  const deadLetters: DeadLetterRecord[] = [];
  let url: string;
  let inFlight = 0;

  /**
   * Like `FakeClock.runUntilSettled`, but time only moves while no attempt is in flight, so the clock
   * reading at each attempt is exactly the time its backoff ended.
   */
  async function drive<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    while (!settled) {
      await new Promise((r) => setTimeout(r, 2));
      if (!settled && inFlight === 0) clock.fireNext();
    }
    return watched;
  }

  beforeAll(async () => {
    url = await receiver.start();
  });
  afterAll(() => receiver.close());

  const delivery = (over: Partial<WebhookDeliveryOptions> = {}) =>
    createWebhookDelivery({
      url,
      secret: SECRET,
      // Cloud rules, with the test receiver allowlisted: the guard still runs on every delivery.
      urlPolicy: { mode: 'cloud', allowHttp: true, allowHosts: ['127.0.0.1'] },
      clock,
      attemptTimeoutMs: 300,
      deadLetter: async (r) => {
        deadLetters.push(r);
      },
      send: async (...args) => {
        inFlight++;
        try {
          return await createHttpSender({ mode: 'local' })(...args);
        } finally {
          inFlight--;
        }
      },
      ...over,
    });

  it('delivers each event exactly once, retries per the schedule with one webhook-id, stops on 410, and dead-letters after the last attempt', async () => {
    // GIVEN a receiver that is down for job "down" 3 times, hangs once for "hung", answers 410 for "gone", is always down for "dead"
    receiver.script('down', [503, 503, 503]);
    receiver.script('hung', ['hang']);
    receiver.script('gone', [410]);
    receiver.script('dead', Array(20).fill(503));
    const notifier = createWebhookNotifier({ delivery: delivery() });

    // WHEN five events are sent concurrently
    const events = [completed('down'), completed('hung'), failed('gone'), completed('dead'), completed('fine')];
    for (const e of events) await notifier.notify(e);
    const outcomes = await drive(notifier.settle());

    // THEN every signature verifies, and each delivered event reached the receiver exactly once
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const byJob = Object.fromEntries(outcomes.map((o) => [o.jobId, o]));
    for (const jobId of ['down', 'hung', 'fine']) {
      expect(byJob[jobId]?.result).toBe('delivered');
      expect(receiver.deliveries(webhookIdOf(events.find((e) => e.jobId === jobId)!))).toHaveLength(1);
    }

    // the same webhook-id on every retry of one event, each attempt signed afresh
    const down = receiver.of('down');
    expect(down.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(new Set(down.map((r) => r.webhookId))).toEqual(new Set([webhookIdOf(completed('down'))]));
    // retries spaced exactly per the policy
    const gaps = down.slice(1).map((r, i) => r.at - down[i]!.at);
    expect(gaps).toEqual(WEBHOOK_RETRY_SCHEDULE_MS.slice(0, 3));

    // a hung attempt is abandoned at its timeout and retried after the first backoff
    const hung = receiver.of('hung');
    expect(hung.map((r) => r.status)).toEqual(['hang', 200]);
    expect(hung[1]!.at - hung[0]!.at).toBeGreaterThanOrEqual(WEBHOOK_RETRY_SCHEDULE_MS[0]!);
    expect(byJob.hung?.attempts[0]?.error).toMatch(/no response within 300 ms/);

    // 410 stops at once: one attempt, no dead letter
    expect(receiver.of('gone')).toHaveLength(1);
    expect(byJob.gone?.result).toBe('stopped');

    // always down: every attempt of the schedule, over more than 24 h, then one dead-letter record
    const dead = receiver.of('dead');
    expect(dead).toHaveLength(maxAttemptsOf());
    expect(dead.at(-1)!.at - dead[0]!.at).toBe(scheduleSpanMs());
    expect(scheduleSpanMs()).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(byJob.dead?.result).toBe('dead-lettered');
    expect(deadLetters.map((d) => d.jobId)).toEqual(['dead']);
    expect(deadLetters[0]).toMatchObject({ webhookId: webhookIdOf(completed('dead')), reason: expect.stringMatching(/12 of 12 attempts: HTTP 503/) });
    expect(deadLetters[0]!.attempts).toHaveLength(12);
    expect(JSON.parse(deadLetters[0]!.body)).toMatchObject({ type: 'job.completed', data: { jobId: 'dead' } });
  });

  it('does not let a hung receiver block other deliveries', async () => {
    receiver.script('slow', ['hang']);
    const d = delivery({ attemptTimeoutMs: 1_000 });
    const notifier = createWebhookNotifier({ delivery: d });
    await notifier.notify(completed('slow'));
    await notifier.notify(completed('quick'));
    // 'quick' is delivered while 'slow' still waits for its first answer
    const quick = await notifier.settle('quick');
    expect(quick[0]?.result).toBe('delivered');
    expect(receiver.of('slow').map((r) => r.status)).toEqual(['hang']);
    const slow = await drive(notifier.settle('slow'));
    expect(slow[0]?.result).toBe('delivered');
  });

  it('sends the Standard Webhooks payload: type, timestamp, and job data', async () => {
    const notifier = createWebhookNotifier({
      delivery: delivery(),
      details: async () => ({ durationSeconds: 12.5, snippet: 'hello world', links: { json: 'file:///x/transcript.json' } }),
    });
    await notifier.notify({ type: 'job.progress', jobId: 'p', chunksDone: 1, chunksTotal: 2 }); // not sent: progress is off by default
    await notifier.notify(failed('payload'));
    await drive(notifier.settle());
    expect(receiver.of('p')).toHaveLength(0);
    const [got] = receiver.of('payload');
    expect(got?.payload).toEqual({
      type: 'job.failed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        jobId: 'payload',
        source: 'in/payload.mp3',
        status: 'failed',
        reason: 'corrupt audio',
        durationSeconds: 12.5,
        snippet: 'hello world',
        links: { json: 'file:///x/transcript.json' },
        resultKeys: [],
      },
    });
  });

  it('sends job.progress when asked, with a webhook-id per progress step', async () => {
    const notifier = createWebhookNotifier({ delivery: delivery(), progress: true });
    await notifier.notify({ type: 'job.progress', jobId: 'prog', chunksDone: 1, chunksTotal: 2 });
    await notifier.notify({ type: 'job.progress', jobId: 'prog', chunksDone: 2, chunksTotal: 2 });
    await drive(notifier.settle('prog'));
    const got = receiver.of('prog');
    expect(got.map((r) => r.payload?.data)).toEqual([
      { jobId: 'prog', status: 'running', chunksDone: 1, chunksTotal: 2 },
      { jobId: 'prog', status: 'running', chunksDone: 2, chunksTotal: 2 },
    ]);
    expect(new Set(got.map((r) => r.webhookId)).size).toBe(2);
  });

  it('treats a redirect as a failed attempt and never follows it', async () => {
    const redirecting = createServer((req, res) => {
      res.writeHead(req.url === '/hook' ? 307 : 200, { location: `${url}` }).end();
    });
    redirecting.listen(0, '127.0.0.1');
    await once(redirecting, 'listening');
    const port = (redirecting.address() as AddressInfo).port;
    const before = receiver.received.length;
    try {
      const d = delivery({ url: `http://127.0.0.1:${port}/hook`, schedule: [5_000] });
      const outcome = await drive(d.deliver({ id: 'msg_redirect', type: 'job.completed', jobId: 'redirect', body: '{}' }));
      expect(outcome.result).toBe('dead-lettered');
      expect(outcome.attempts.map((a) => a.status)).toEqual([307, 307]);
      expect(receiver.received.length).toBe(before);
    } finally {
      redirecting.closeAllConnections();
      await new Promise((r) => redirecting.close(r));
    }
  });

  it('refuses a private URL in cloud mode without sending anything, and records why', async () => {
    const before = receiver.received.length;
    const d = delivery({ urlPolicy: { mode: 'cloud', allowHttp: true } });
    const outcome = await d.deliver({ id: 'msg_x', type: 'job.completed', jobId: 'ssrf', body: '{}' });
    expect(outcome.result).toBe('refused');
    expect(outcome.attempts).toHaveLength(0);
    expect(receiver.received.length).toBe(before);
    expect(deadLetters.find((r) => r.jobId === 'ssrf')?.reason).toMatch(/127\.0\.0\.1 is a private, loopback or link-local address/);
  });

  it('gives the same webhook-id to the same event raised twice, so receivers can dedupe', () => {
    expect(webhookIdOf(completed('a'))).toBe(webhookIdOf(completed('a')));
    expect(webhookIdOf(completed('a'))).not.toBe(webhookIdOf(failed('a')));
    expect(webhookIdOf(completed('a'))).not.toBe(webhookIdOf(completed('b')));
    expect(webhookIdOf(completed('a'))).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
  });

  it('fails at construction for a secret that is not a whsec_ secret', () => {
    expect(() => delivery({ secret: 'whsec_' })).toThrow();
  });
});
