/**
 * Issue 11, Low, on AWS: ten concurrent `POST /jobs/{id}/retry` (functions/api.ts with API Gateway payload-v2
 * events) start one run and record one retry: the attempt is claimed with an S3 conditional write
 * (`If-None-Match: *`, through the harness's conformance proxy in front of s3rver). A retried job that fails
 * again publishes `job.failed` with an `eventId` of its own (the first failure's id made consumers drop it).
 * The job's source fails at the split on every attempt (not audio), through the real splitter.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../shared/api/api-keys.js';
import { assertValidResponse } from '../api/openapi-contract.js';
import { type Deployment, startDeployment } from '../aws/lambda-harness.js';

type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

describe('AWS job API: concurrent retries and the ids of each attempt’s end', () => {
  let aws: Deployment;
  let handler: ApiHandler;
  let key: string;
  beforeAll(async () => {
    aws = await startDeployment({});
    handler = (await import('../../functions/api.js')).handler as ApiHandler;
    key = await createApiKey(aws.store, 'acme');
  });
  afterAll(() => aws?.close());

  async function invoke(method: string, path: string, template: string, body?: unknown) {
    const res = await handler(apiEvent(method, path, key, body));
    const json = JSON.parse(res.body ?? 'null');
    assertValidResponse(method, template, res.statusCode ?? 0, json);
    return { status: res.statusCode ?? 0, body: json };
  }
  const state = async (id: string) => (await invoke('GET', `/jobs/${id}`, '/jobs/{jobId}')).body.state as string;
  const failedEvents = (id: string) => aws.terminalEvents(id).filter((e) => e.detailType === 'voxpipe.job.failed');

  it('one of ten retries starts attempt 2 (the others 409 naming it); each failure has its own eventId', async () => {
    await aws.store.put('tenants/acme/inbox/broken.mp3', 'not audio at all '.repeat(100));
    const created = await invoke('POST', '/jobs', '/jobs', { source: { s3Key: 'tenants/acme/inbox/broken.mp3' } });
    const id = created.body.jobId as string;
    await expect.poll(() => state(id), { timeout: 60_000, interval: 100 }).toBe('failed');
    await expect.poll(() => failedEvents(id).length, { timeout: 30_000, interval: 50 }).toBe(1);

    const answers = await Promise.all(Array.from({ length: 10 }, () => invoke('POST', `/jobs/${id}/retry`, '/jobs/{jobId}/retry')));
    expect(answers.map((a) => a.status).sort()).toEqual([202, ...Array(9).fill(409)]);
    expect(answers.find((a) => a.status === 202)?.body.attempt).toBe(2);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.attempt).toBe(2);

    await expect.poll(() => failedEvents(id).length, { timeout: 60_000, interval: 100 }).toBe(2);
    await aws.settle();
    expect(await state(id)).toBe('failed');
    expect((await invoke('GET', `/jobs/${id}`, '/jobs/{jobId}')).body.attempt).toBe(2);
    const record = JSON.parse(new TextDecoder().decode(await aws.store.get(`tenants/acme/jobs/${id}.json`)));
    expect(record.retries).toHaveLength(1);
    // one run: exactly one more terminal event, and its eventId is not the first failure's
    const [first, second] = failedEvents(id);
    expect(aws.terminalEvents(id)).toHaveLength(2);
    expect(first?.detail.eventId).toEqual(expect.any(String));
    expect(second?.detail.eventId).not.toBe(first?.detail.eventId);
    expect(second?.detail.attempt).toBe(2);
  });
});

function apiEvent(method: string, path: string, key: string, body?: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8' },
      requestId: `req-${Math.random().toString(16).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)).toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
  };
}
