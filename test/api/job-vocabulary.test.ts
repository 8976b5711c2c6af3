/**
 * `vocabulary` (Mistral `context_bias`) as a job option everywhere a job is made: the job API (validated against
 * api/openapi.yaml, kept in request.json, merged over the deployment's default), and the AWS deployment's default
 * (`-c vocabulary=…` → the splitter's VOXPIPE_VOCABULARY → each job's options → each chunk task).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseEnv, SplitterEnv } from '../../functions/lib/env.js';
import { stackPropsFromContext } from '../../infra/context.js';
import { VoxpipeStack } from '../../infra/stacks/voxpipe-stack.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createApiKey, createStoreApiKeys } from '../../shared/api/api-keys.js';
import { createApi } from '../../shared/api/handler.js';
import { readJobRequest, withRequestedOptions } from '../../shared/api/records.js';
import type { JobOptions } from '../../shared/core/types.js';
import { scratchDir } from '../fixtures/audio.js';
import { silentLogger } from '../e2e/local-harness.js';
import { assertValidRequest, assertValidResponse, isValidRequest } from './openapi-contract.js';

async function apiWithKey() {
  const store = createFsStore(await scratchDir('api-vocab'));
  const api = createApi({
    store,
    keys: createStoreApiKeys(store),
    submitter: { start: async () => undefined },
    signer: { getUrl: async (k) => `https://signed.example/get/${k}`, putUrl: async (k) => `https://signed.example/put/${k}` },
    logger: silentLogger,
    newJobId: () => 'job00000000000000042',
  });
  const key = await createApiKey(store, 'tenant-a');
  await store.put('tenants/tenant-a/inbox/talk.mp3', 'audio');
  const post = async (body: unknown) => {
    const res = await api({ method: 'POST', path: '/jobs', query: {}, headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    assertValidResponse('POST', '/jobs', res.status, res.body);
    return res as { status: number; body: any };
  };
  return { store, post };
}

describe('job API: options.vocabulary', () => {
  it('is accepted, kept in the request the pipeline reads, and replaces the deployment default for the job', async () => {
    const { store, post } = await apiWithKey();
    const body = { source: { s3Key: 'tenants/tenant-a/inbox/talk.mp3' }, options: { vocabulary: ['Voxtral', 'context bias', ' Kubernetes '] } };
    assertValidRequest('POST', '/jobs', body);
    const res = await post(body);
    expect(res.status).toBe(202);
    const request = await readJobRequest(store, 'job00000000000000042');
    expect(request?.options.vocabulary).toEqual(['Voxtral', 'context bias', 'Kubernetes']);
    const base = { vocabulary: ['StackDefault'], language: 'en' } as unknown as JobOptions;
    expect(withRequestedOptions(base, request?.options).vocabulary).toEqual(['Voxtral', 'context bias', 'Kubernetes']);
    expect(withRequestedOptions(base, {}).vocabulary).toEqual(['StackDefault']);
  });

  it.each([
    ['an empty list', []],
    ['an empty term', ['ok', '  ']],
    ['101 terms', Array.from({ length: 101 }, (_, i) => `t${i}`)],
    ['a number', [42]],
  ])('refuses %s with a 400 naming options.vocabulary', async (_label, vocabulary) => {
    const { post } = await apiWithKey();
    const body = { source: { s3Key: 'tenants/tenant-a/inbox/talk.mp3' }, options: { vocabulary } };
    expect(isValidRequest('POST', '/jobs', body)).toBe(false);
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('options.vocabulary');
  });
});

describe('AWS: the deployment default vocabulary', () => {
  it('-c vocabulary=… reaches the splitter environment, which parses it into a job option list', () => {
    const ctx: Record<string, unknown> = { vocabulary: 'Voxtral, Kubernetes,Voxtral,,voxpipe' };
    const { jobDeadlineHours: _h, ...props } = stackPropsFromContext((k) => ctx[k]);
    expect(props.vocabulary).toEqual(['Voxtral', 'Kubernetes', 'voxpipe']);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new VoxpipeStack(app, 'Voxpipe', props);
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: any }>;
    const env = resources[stack.getLogicalId(stack.splitter.fn.node.defaultChild as never)]?.Properties.Environment.Variables;
    expect(env.VOXPIPE_VOCABULARY).toBe('Voxtral,Kubernetes,voxpipe');
    const parsed = parseEnv(SplitterEnv, {
      ...env,
      VOXPIPE_BUCKET: 'b',
      VOXPIPE_WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/w',
      VOXPIPE_AGGREGATE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/a',
      VOXPIPE_EVENT_BUS_NAME: 'bus',
    });
    expect(parsed.VOXPIPE_VOCABULARY).toEqual(['Voxtral', 'Kubernetes', 'voxpipe']);
  });

  it('refuses more than 100 terms at synth', () => {
    const ctx: Record<string, unknown> = { vocabulary: Array.from({ length: 101 }, (_, i) => `t${i}`).join(',') };
    expect(() => stackPropsFromContext((k) => ctx[k])).toThrow(/-c vocabulary: at most 100 terms/);
  });
});
