/**
 * The job API on AWS, in-process: functions/api.ts invoked with API Gateway HTTP API (payload v2) events,
 * over the emulated bucket and split queue of the Lambda harness, with the real splitter, transcriber and
 * aggregator behind it. Uploads go to S3 presigned PUT URLs over HTTP; S3's notification of the upload is
 * sent by the test, as S3 would for the `uploads/` prefix. Responses are checked against api/openapi.yaml.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../shared/api/api-keys.js';
import type { Transcript } from '../../shared/core/types.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { assertValidResponse } from '../api/openapi-contract.js';
import { type Deployment, s3Notification, startDeployment } from './lambda-harness.js';

/** Mistral (the harness's vendor) gives segments, not words: compare the text's tokens. */
const transcriptWords = (t: Transcript) => t.text.split(/\s+/).filter(Boolean);

type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

describe('AWS job API (functions/api.ts behind API Gateway HTTP API)', () => {
  let aws: Deployment;
  let handler: ApiHandler;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    // Call 2 (the upload job's second chunk) is rate-limited for 1 s, so the job is seen part-way;
    // call 4 (the s3Key job's first chunk) is rejected, so that job fails and can be retried.
    aws = await startDeployment({
      faults: { byCall: { 2: { kind: 'rate-limit', retryAfterSeconds: 1 }, 4: { kind: 'status', status: 400, message: 'audio rejected' } } },
      concurrency: 2,
      batchSize: 1,
      // Call numbers pick the faults: a spurious timeout under a loaded test run must not add a call.
      env: { VOXPIPE_ATTEMPT_TIMEOUT_SECONDS: '15' },
    });
    handler = (await import('../../functions/api.js')).handler as ApiHandler;
    key = await createApiKey(aws.store, 'acme');
    otherKey = await createApiKey(aws.store, 'globex');
  });
  afterAll(() => aws?.close());

  /** Invoke the Lambda with a payload-v2 event; validate the response against the document. */
  async function invoke(method: string, path: string, opts: { key?: string; body?: unknown; query?: Record<string, string>; template?: string } = {}) {
    const event = apiEvent(method, path, opts);
    const res = await handler(event);
    const body = JSON.parse(res.body ?? 'null');
    assertValidResponse(method, opts.template ?? path, res.statusCode ?? 0, body);
    return { status: res.statusCode, headers: res.headers ?? {}, body };
  }

  async function waitForState(id: string, state: string, onPoll?: (job: any) => void, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await invoke('GET', `/jobs/${id}`, { key, template: '/jobs/{jobId}' });
      onPoll?.(body);
      if (body.state === state) return body;
      if (body.state === 'completed' || body.state === 'failed') throw new Error(`job ${id} ended ${body.state} (${body.reason}), expected ${state}`);
      if (Date.now() > deadline) throw new Error(`job ${id}: still ${body.state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('rejects invalid bodies (400 with the field), missing or unknown keys (401) and other tenants (404)', async () => {
    const bad = await invoke('POST', '/jobs', { key, body: { source: { s3Key: 'inbox/x.mp3', upload: true } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('source');
    expect((await invoke('GET', '/jobs')).status).toBe(401);
    expect((await invoke('GET', '/jobs', { key: 'vxp_unknown' })).status).toBe(401);
    const created = await invoke('POST', '/jobs', { key, body: { source: { upload: true } } });
    expect((await invoke('GET', `/jobs/${created.body.jobId}`, { key: otherKey, template: '/jobs/{jobId}' })).status).toBe(404);
  });

  it('runs an upload job: presigned PUT, S3 notification, progress while transcribing, presigned result links', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 51, durationSeconds: 50, format: 'mp3' });
    const created = await invoke('POST', '/jobs', { key, body: { source: { upload: true, fileName: 'Board meeting.mp3' }, options: { words: true } } });
    expect(created.status).toBe(202);
    const id = created.body.jobId as string;
    expect((await invoke('GET', `/jobs/${id}`, { key, template: '/jobs/{jobId}' })).body.state).toBe('awaiting_upload');

    // WHEN the client PUTs to the presigned URL (plain HTTP, no SDK) and S3 notifies the split queue
    const put = await fetch(created.body.uploadUrl, { method: 'PUT', body: await readFile(path) });
    expect(put.status, await put.clone().text()).toBe(200);
    const uploadKey = decodeURIComponent(new URL(created.body.uploadUrl).pathname.split('/').slice(2).join('/'));
    expect(uploadKey).toBe(`uploads/${id}/Board meeting.mp3`);
    await aws.notify(s3Notification('voxpipe-ingest', uploadKey, '', 1));

    // THEN status shows progress while running, and links when done
    const seen: { state: string; done: number; total: number | null }[] = [];
    const done = await waitForState(id, 'completed', (j) => seen.push({ state: j.state, done: j.progress.chunksDone, total: j.progress.chunksTotal }));
    expect(seen.some((s) => s.state === 'transcribing' && s.total !== null && s.done < s.total), JSON.stringify(seen)).toBe(true);
    expect(done.progress.chunksDone).toBe(done.progress.chunksTotal);
    expect(done.usage.audioSeconds).toBeGreaterThan(45);
    const json = done.results.files.find((f: any) => f.name === 'transcript.json');
    const t = (await (await fetch(json.url)).json()) as Transcript;
    expect(t.status).toBe('completed');
    expect(t.source).toContain('Board meeting.mp3');
    expect(transcriptWords(t)).toEqual(words.map((w) => w.word));
    expect(aws.terminalEvents(id).map((e) => e.detailType)).toEqual(['voxpipe.job.completed']);
  });

  it('starts an s3Key job through the split queue, lists it when it fails, and retries it keeping the good chunks', async () => {
    const { path, words } = await toneSpeechFixture({ seed: 52, durationSeconds: 45, format: 'mp3' });
    await aws.store.putFile('tenants/acme/inbox/interview.mp3', path);

    const created = await invoke('POST', '/jobs', { key, body: { source: { s3Key: 'tenants/acme/inbox/interview.mp3' }, options: { words: true } } });
    expect(created.body.state).toBe('queued');
    const id = created.body.jobId as string;
    const failed = await waitForState(id, 'failed');
    expect(failed.reason).toMatch(/audio rejected/);
    const listed = await invoke('GET', '/jobs', { key, query: { status: 'failed' } });
    expect(listed.body.jobs.map((j: any) => j.jobId)).toEqual([id]);
    expect((await invoke('GET', '/jobs', { key: otherKey, query: { status: 'failed' } })).body.jobs).toEqual([]);

    const callsBefore = aws.double.calls;
    expect((await invoke('POST', `/jobs/${id}/retry`, { key, template: '/jobs/{jobId}/retry' })).status).toBe(202);
    const done = await waitForState(id, 'completed');

    expect(aws.double.calls - callsBefore).toBe(1);
    const t = (await (await fetch(done.results.files.find((f: any) => f.name === 'transcript.json').url)).json()) as Transcript;
    expect(transcriptWords(t)).toEqual(words.map((w) => w.word));
  });
});

/** A payload-v2 event as API Gateway HTTP API sends it to a Lambda integration ($default stage). */
function apiEvent(method: string, path: string, opts: { key?: string; body?: unknown; query?: Record<string, string> }): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(opts.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString,
    headers: {
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(opts.body !== undefined ? { body: Buffer.from(JSON.stringify(opts.body)).toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
  };
}
