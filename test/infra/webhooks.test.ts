/**
 * The stack with signed webhooks on (`-c webhookSecretName=… -c webhookUrl=…`): template assertions,
 * cdk-nag AwsSolutions, and the webhook function's bundle.
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
import { VoxpipeStack } from '../../infra/stacks/voxpipe-stack.js';

const run = promisify(execFile);
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

let outdir: string;
let app: App;
let stack: VoxpipeStack;
let template: Template;
let resources: Resources;

beforeAll(() => {
  // GIVEN the app with webhooks: a signing secret by name and a stack-wide receiver
  outdir = mkdtempSync(join(tmpdir(), 'voxpipe-cdk-webhooks-'));
  app = new App({ outdir });
  stack = new VoxpipeStack(app, 'Voxpipe', { webhookSecretName: 'voxpipe/webhook-signing', webhookUrl: 'https://hooks.example.com/voxpipe' });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const refId = (v: any): string | undefined => v?.Ref ?? v?.['Fn::GetAtt']?.[0];
const logicalId = (c: any) => stack.getLogicalId(c.node.defaultChild);
const webhookFn = () => resources[logicalId(stack.webhooks!.fn)]!;

describe('webhooks template', () => {
  it('gives the webhook queue an encrypted DLQ', () => {
    const queue = resources[logicalId(stack.webhooks!.queue.queue)]!;
    const dlqId = logicalId(stack.webhooks!.queue.deadLetterQueue);
    expect(refId(queue.Properties.RedrivePolicy.deadLetterTargetArn)).toBe(dlqId);
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(resources[dlqId]!.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('reports batch item failures on the webhook event source mapping, with visibility ≥ 6× the function timeout', () => {
    const queueId = logicalId(stack.webhooks!.queue.queue);
    const [mapping] = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => refId(m.Properties.EventSourceArn) === queueId);
    expect(mapping).toBeDefined();
    const [, m] = mapping!;
    expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(refId(m.Properties.FunctionName)).toBe(logicalId(stack.webhooks!.fn));
    expect(resources[queueId]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * webhookFn().Properties.Timeout);
  });

  it('keeps the signing key out of the template: the function gets the secret ARN and read access only', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/whsec_/);
    const vars = webhookFn().Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(vars)).not.toContain('VOXPIPE_WEBHOOK_SECRET');
    expect(vars.VOXPIPE_WEBHOOK_SECRET_ID).toBe('voxpipe/webhook-signing');
    expect(vars.VOXPIPE_WEBHOOK_URL).toBe('https://hooks.example.com/voxpipe');
    expect(vars.VOXPIPE_WEBHOOK_ALLOW_HTTP).toBeUndefined();
    expect(vars.VOXPIPE_WEBHOOK_ALLOW_HOSTS).toBeUndefined();
    const policies = ofType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(refId(webhookFn().Properties.Role)!));
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    const secretReads = statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(secretReads.map((s) => s.Resource))).toMatch(/secret:voxpipe\/webhook-signing-\?\?\?\?\?\?/);
    expect(JSON.stringify(secretReads.map((s) => s.Resource))).toMatch(/secret:voxpipe\/webhooks\/\*-\?\?\?\?\?\?/);
  });

  it('lets every function that raises job events queue webhooks', () => {
    const queueId = logicalId(stack.webhooks!.queue.queue);
    for (const fn of [stack.splitter.fn, stack.aggregator.fn, stack.failures.dlqConsumer, stack.failures.sweeper]) {
      const vars = resources[logicalId(fn)]!.Properties.Environment.Variables;
      expect(refId(vars.VOXPIPE_WEBHOOK_QUEUE_URL), fn.node.path).toBe(queueId);
    }
    expect(stack.monitoring.alarms.some((a) => a.node.id === 'WebhookDlqDepth')).toBe(true);
  });

  it('refuses a webhook URL without a signing secret (a stack without either has no webhook resources: stack.test.ts)', () => {
    expect(() => new VoxpipeStack(new App(), 'UrlOnly', { webhookUrl: 'https://x.example.com/h' })).toThrow(/webhookSecretName/);
  });
});

describe('webhooks cdk-nag AwsSolutions', () => {
  it('has no unacknowledged findings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });
});

describe('webhooks context', () => {
  it('takes webhookUrl and webhookSecretName, and refuses an http receiver', () => {
    const ctx: Record<string, unknown> = { webhookUrl: 'https://hooks.example.com/v', webhookSecretName: 'voxpipe/webhook-signing' };
    expect(stackPropsFromContext((k) => ctx[k])).toMatchObject(ctx);
    const http: Record<string, unknown> = { webhookUrl: 'http://hooks.example.com/v' };
    expect(() => stackPropsFromContext((k) => http[k])).toThrow(/-c webhookUrl/);
  });
});

describe('webhook function bundle', () => {
  it('imports cleanly outside the repository', async () => {
    const hash = String(webhookFn().Properties.Code.S3Key).replace(/\.zip$/, '');
    const dir = mkdtempSync(join(tmpdir(), 'voxpipe-webhook-bundle-'));
    try {
      const copy = join(dir, 'webhook.mjs');
      copyFileSync(join(outdir, `asset.${hash}`, 'index.mjs'), copy);
      const env = {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        VOXPIPE_BUCKET: 'b',
        VOXPIPE_WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/webhooks',
        VOXPIPE_WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:1:secret:w',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      };
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(copy)}); console.log(typeof m.handler);`], {
        env,
        cwd: dir,
      });
      expect(stdout.trim()).toBe('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
