/**
 * The stack with enrichments on (`-c translate=fr,de -c summary=true`, chat = the transcription provider):
 * template assertions, cdk-nag AwsSolutions, the enricher bundle; and the chat-key variants (`chatProvider`,
 * `chatApiKeySecretName`) synthesized without bundling.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { VoxpipeStack, type VoxpipeStackProps } from '../../infra/stacks/voxpipe-stack.js';

const run = promisify(execFile);
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

let outdir: string;
let app: App;
let stack: VoxpipeStack;
let resources: Resources;

beforeAll(() => {
  // GIVEN the app as `cdk synth -c translate=fr,de -c summary=true` builds it
  outdir = mkdtempSync(join(tmpdir(), 'voxpipe-cdk-enrich-'));
  app = new App({ outdir });
  const ctx: Record<string, unknown> = { translate: 'fr,de', summary: 'true' };
  const { jobDeadlineHours: _hours, ...props } = stackPropsFromContext((k) => ctx[k]);
  stack = new VoxpipeStack(app, 'Voxpipe', props);
  resources = Template.fromStack(stack).toJSON().Resources as Resources;
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const refId = (v: any): string | undefined => v?.Ref ?? v?.['Fn::GetAtt']?.[0];
const logicalId = (s: VoxpipeStack, c: any) => s.getLogicalId(c.node.defaultChild);
const envOf = (s: VoxpipeStack, r: Resources, fn: any) => r[logicalId(s, fn)]!.Properties.Environment.Variables as Record<string, any>;
const policiesOf = (r: Resources, fnProps: Record<string, any>) =>
  Object.values(r)
    .filter((p) => p.Type === 'AWS::IAM::Policy' && JSON.stringify(p.Properties.Roles).includes(refId(fnProps.Role)!))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);

/** A stack synthesized without bundling (template only). */
function templateOnly(props: VoxpipeStackProps): { stack: VoxpipeStack; resources: Resources } {
  const s = new VoxpipeStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Variant', props);
  return { stack: s, resources: Template.fromStack(s).toJSON().Resources as Resources };
}

describe('enricher template', () => {
  it('feeds the enricher from its own queue: DLQ, redrive, visibility ≥ 6× the timeout, batch item failures', () => {
    const enricher = stack.enricher!;
    const queueId = logicalId(stack, enricher.queue.queue);
    const queue = resources[queueId]!.Properties;
    expect(refId(queue.RedrivePolicy.deadLetterTargetArn)).toBe(logicalId(stack, enricher.queue.deadLetterQueue));
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(5);
    expect(queue.SqsManagedSseEnabled).toBe(true);
    const fn = resources[logicalId(stack, enricher.fn)]!.Properties;
    expect(fn.Timeout).toBe(900);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    const mapping = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && refId(r.Properties.EventSourceArn) === queueId)!;
    expect(mapping.Properties).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], BatchSize: 1, ScalingConfig: { MaximumConcurrency: 2 } });
    expect(refId(mapping.Properties.FunctionName)).toBe(logicalId(stack, enricher.fn));
    // The last receive completes the job, so the function must know the receive budget.
    expect(fn.Environment.Variables.VOXPIPE_ENRICH_MAX_RECEIVES).toBe('5');
    expect(stack.monitoring.alarms.some((a) => a.node.id === 'EnrichDlqDepth')).toBe(true);
  });

  it('makes the aggregator a producer and gives the splitter the stack default enrichments', () => {
    const queueId = logicalId(stack, stack.enricher!.queue.queue);
    expect(refId(envOf(stack, resources, stack.aggregator.fn).VOXPIPE_ENRICH_QUEUE_URL)).toBe(queueId);
    const sends = policiesOf(resources, resources[logicalId(stack, stack.aggregator.fn)]!.Properties).filter((s) => JSON.stringify(s.Action).includes('sqs:SendMessage'));
    expect(sends.some((s) => refId(s.Resource) === queueId)).toBe(true);
    expect(envOf(stack, resources, stack.splitter.fn)).toMatchObject({ VOXPIPE_TRANSLATE: 'fr,de', VOXPIPE_SUMMARY: 'true' });
  });

  it('reuses the provider key secret for the same vendor: an ARN reference and read access, never a value', () => {
    const vars = envOf(stack, resources, stack.enricher!.fn);
    expect(vars.VOXPIPE_CHAT_PROVIDER).toBe('mistral');
    expect(refId(vars.VOXPIPE_CHAT_API_KEY_SECRET_ARN)).toBe(logicalId(stack, stack.apiKeySecret));
    for (const name of Object.keys(vars)) expect(name).not.toMatch(/^VOXPIPE_CHAT_API_KEY$/);
    const reads = policiesOf(resources, resources[logicalId(stack, stack.enricher!.fn)]!.Properties).filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(reads.map((s) => refId(s.Resource))).toEqual([logicalId(stack, stack.apiKeySecret)]);
  });

  it('reads another vendor’s key from the secret named by chatApiKeySecretName, and refuses a keyless hosted vendor', () => {
    const { stack: s, resources: r } = templateOnly({ chatProvider: 'openrouter', chatModel: 'mistralai/voxtral-small-24b-2507', chatApiKeySecretName: 'voxpipe/openrouter' });
    const vars = envOf(s, r, s.enricher!.fn);
    expect(vars).toMatchObject({ VOXPIPE_CHAT_PROVIDER: 'openrouter', VOXPIPE_CHAT_MODEL: 'mistralai/voxtral-small-24b-2507' });
    expect(JSON.stringify(vars.VOXPIPE_CHAT_API_KEY_SECRET_ARN)).toContain('secret:voxpipe/openrouter');
    expect(envOf(s, r, s.splitter.fn).VOXPIPE_TRANSLATE).toBeUndefined();
    const nag = new AwsSolutionsChecks(s.node.root as App).validateScope(s);
    expect(nag.violations.map((v) => v.ruleName)).toEqual([]);
    expect(() => templateOnly({ chatProvider: 'openrouter' })).toThrow(/chatApiKeySecretName/);
    // A self-hosted OpenAI-compatible server may need no key.
    const keyless = templateOnly({ chatProvider: 'openai-compatible', chatBaseUrl: 'https://vllm.internal.example.com/v1' });
    expect(envOf(keyless.stack, keyless.resources, keyless.stack.enricher!.fn).VOXPIPE_CHAT_API_KEY_SECRET_ARN).toBeUndefined();
  });

  it('deploys no enricher unless asked (the default stack: stack.test.ts)', () => {
    expect(templateOnly({}).stack.enricher).toBeUndefined();
  });
});

describe('enricher cdk-nag AwsSolutions', () => {
  it('has no unacknowledged findings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('enricher context', () => {
  it('turns translate and summary into typed props, and names a bad language', () => {
    const ctx: Record<string, unknown> = { translate: 'fr, de', summary: 'true', chatProvider: 'openrouter', chatApiKeySecretName: 'k' };
    expect(stackPropsFromContext((k) => ctx[k])).toMatchObject({ translate: ['fr', 'de'], summary: true, chatProvider: 'openrouter', chatApiKeySecretName: 'k' });
    const bad: Record<string, unknown> = { translate: 'french' };
    expect(() => stackPropsFromContext((k) => bad[k])).toThrow(/-c translate/);
  });
});

describe('enricher bundle', () => {
  it('imports cleanly outside the repository', async () => {
    const fn = resources[logicalId(stack, stack.enricher!.fn)]!.Properties;
    const hash = String(fn.Code.S3Key).replace(/\.zip$/, '');
    const dir = mkdtempSync(join(tmpdir(), 'voxpipe-enricher-bundle-'));
    try {
      const copy = join(dir, 'enricher.mjs');
      copyFileSync(join(outdir, `asset.${hash}`, 'index.mjs'), copy);
      const env = {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        VOXPIPE_BUCKET: 'b',
        VOXPIPE_EVENT_BUS_NAME: 'voxpipe',
        VOXPIPE_CHAT_PROVIDER: 'mistral',
        VOXPIPE_CHAT_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:k',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      };
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(copy)}); console.log(typeof m.handler);`], { env, cwd: dir });
      expect(stdout.trim()).toBe('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
