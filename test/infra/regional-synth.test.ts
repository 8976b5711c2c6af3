/**
 * The stack as the CDK CLI synthesizes it: a concrete account and region (the CLI always sets them), every
 * documented context combination parsed by `infra/context.ts`, cdk-nag AwsSolutions on each. Then the
 * template's IAM, evaluated per function on action + resource ARN (least privilege per bucket prefix, the
 * transcriber's deferral), the queue policy, alarms, redrive counts and synth warnings.
 * Template only (no bundling): fast, and what IAM and nag see is the same.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, stackPropsFromContext } from '../../infra/context.js';
import { VoxpipeStack } from '../../infra/stacks/voxpipe-stack.js';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const ENV = { account: '123456789012', region: 'eu-west-1' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxpipe-regional-'));
  writeFileSync(join(dir, 'profiles.yaml'), 'profiles:\n  meetings:\n    language: en\n    summary: true\n    retentionDays: 30\n');
  writeFileSync(join(dir, 'ffmpeg-layer.zip'), 'PK\u0005\u0006'.padEnd(22, '\u0000')); // an empty zip: synth only checks it exists
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `cdk synth -c k=v …` with a region: context parsed as the app does, template only. */
function synth(ctx: Record<string, string>): { app: App; stack: VoxpipeStack; resources: Resources } {
  const { jobDeadlineHours, ...props } = stackPropsFromContext((k) => ctx[k]);
  const app = new App({ outdir: join(dir, `out-${Math.random().toString(36).slice(2)}`), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new VoxpipeStack(app, 'Voxpipe', { ...props, jobDeadline: Duration.hours(jobDeadlineHours), env: ENV });
  return { app, stack, resources: Template.fromStack(stack).toJSON().Resources as Resources };
}

/** Every combination infra/README.md documents. */
const COMBINATIONS: [string, () => Record<string, string>][] = [
  ['defaults', () => ({})],
  ['alarm email, tuning, existing key by name', () => ({ alarmEmail: 'ops@example.com', concurrency: '32', chunkSeconds: '300', retentionDays: '3', resultsExpireDays: '365', uploadsExpireDays: '30', jobDeadlineHours: '12', apiKeySecretName: 'voxpipe/mistral' })],
  ['existing key by ARN', () => ({ apiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:voxpipe/mistral-AbCdEf' })],
  ['webhooks', () => ({ webhookSecretName: 'voxpipe/webhook-signing', webhookUrl: 'https://hooks.example.com/voxpipe' })],
  ['enrich', () => ({ enrich: 'true' })],
  ['translate + summary', () => ({ translate: 'fr,de', summary: 'true' })],
  ['chat on another vendor', () => ({ chatProvider: 'openrouter', chatModel: 'mistralai/voxtral-small-24b-2507', chatApiKeySecretName: 'voxpipe/openrouter' })],
  ['profiles', () => ({ profilesFile: join(dir, 'profiles.yaml') })],
  ['openai-compatible with a base URL', () => ({ provider: 'openai-compatible', model: 'mistralai/Voxtral-Mini-3B-2507', baseUrl: 'https://vllm.example.com/v1' })],
  ['Mistral regional endpoint', () => ({ provider: 'mistral', baseUrl: 'https://api.eu.mistral.ai/v1' })],
  ['ffmpeg layer by ARN', () => ({ ffmpegLayerArn: 'arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg7:3' })],
  ['ffmpeg layer from a zip', () => ({ ffmpegLayerZip: join(dir, 'ffmpeg-layer.zip') })],
  ['energy pause finder (no Silero layer)', () => ({ pauses: 'energy' })],
  [
    'everything at once',
    () => ({
      webhookSecretName: 'voxpipe/webhook-signing',
      webhookUrl: 'https://hooks.example.com/voxpipe',
      translate: 'fr',
      chatProvider: 'openrouter',
      chatApiKeySecretName: 'voxpipe/openrouter',
      profilesFile: join(dir, 'profiles.yaml'),
      alarmEmail: 'ops@example.com',
    }),
  ],
];

describe('synth with a region, as the CDK CLI runs it', () => {
  it.each(COMBINATIONS)('%s: synthesizes with no unacknowledged cdk-nag finding and no error', (_name, ctx) => {
    const { app, stack } = synth(ctx());
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------- IAM

/** CloudFormation values as strings: `Ref`/`GetAtt` become `<Id>` / `<Id.Attr>`, pseudo parameters their value. */
function str(v: any): string {
  if (typeof v === 'string') return v;
  if (v?.Ref === 'AWS::Partition') return 'aws';
  if (v?.Ref === 'AWS::Region') return ENV.region;
  if (v?.Ref === 'AWS::AccountId') return ENV.account;
  if (v?.Ref !== undefined) return `<${v.Ref}>`;
  if (v?.['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(str).join(v['Fn::Join'][0]);
  return JSON.stringify(v);
}

const glob = (pattern: string) => new RegExp(`^${pattern.split('*').map((p) => p.split('?').map((q) => q.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('.')).join('.*')}$`);

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
}

/** The identity policy of `fn` (every AWS::IAM::Policy attached to its role). */
function policyOf(stack: VoxpipeStack, resources: Resources, fn: { role?: { node: { defaultChild?: unknown } } }): Statement[] {
  const roleId = stack.getLogicalId(fn.role!.node.defaultChild as any);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as any[]).some((x) => x.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
    .map((s) => ({ Effect: s.Effect, Action: [s.Action].flat(), Resource: [s.Resource].flat().map(str) }));
}

/** Allow/Deny on action and resource ARN: an explicit Deny wins, else any Allow. */
function allowed(policy: readonly Statement[], action: string, resource: string): boolean {
  const matches = (s: Statement) => s.Action.some((a) => glob(a).test(action)) && s.Resource.some((r) => glob(r).test(resource));
  if (policy.some((s) => s.Effect === 'Deny' && matches(s))) return false;
  return policy.some((s) => s.Effect === 'Allow' && matches(s));
}

describe('IAM per function', () => {
  let stack: VoxpipeStack;
  let resources: Resources;
  let object: (key: string) => string;
  let bucket: string;
  beforeAll(() => {
    ({ stack, resources } = synth({ webhookSecretName: 'voxpipe/webhook-signing', enrich: 'true' }));
    bucket = `<${stack.getLogicalId(stack.ingest.bucket.node.defaultChild as any)}.Arn>`;
    object = (key) => `${bucket}/${key}`;
  });
  const fns = () => ({
    splitter: stack.splitter.fn,
    transcriber: stack.transcriber.fn,
    aggregator: stack.aggregator.fn,
    dlqConsumer: stack.failures.dlqConsumer,
    sweeper: stack.failures.sweeper,
    api: stack.api.fn,
    webhooks: stack.webhooks!.fn,
    enricher: stack.enricher!.fn,
  });
  const can = (name: keyof ReturnType<typeof fns>, action: string, resource: string) => allowed(policyOf(stack, resources, fns()[name]), action, resource);

  it('lets the transcriber re-send a rate-limited chunk to its own work queue (deferral)', () => {
    const workQueue = `<${stack.getLogicalId(stack.transcriber.workQueue.queue.node.defaultChild as any)}.Arn>`;
    expect(can('transcriber', 'sqs:SendMessage', workQueue)).toBe(true);
    expect(can('transcriber', 'sqs:ChangeMessageVisibility', workQueue)).toBe(true);
  });

  it('keeps api-keys/ readable by the API function only', () => {
    const key = object('api-keys/0f3a.json');
    for (const name of Object.keys(fns()) as (keyof ReturnType<typeof fns>)[]) {
      expect(can(name, 's3:GetObject', key), `${name} reads api-keys/`).toBe(name === 'api');
      expect(can(name, 's3:PutObject', key), `${name} writes api-keys/`).toBe(false);
      expect(can(name, 's3:DeleteObject', key), `${name} deletes api-keys/`).toBe(false);
    }
  });

  it('keeps the splitter (ffmpeg on untrusted uploads) away from keys, tenant records and results', () => {
    // nor chunk transcripts of any job (job ids carry no tenant): it lists which exist instead
    for (const key of ['api-keys/0f3a.json', 'tenants/acme/jobs/j1.json', 'results/other-job/transcript.json', 'results/other-job/transcript.txt', 'webhooks/dead-letter/j/w.json', 'jobs/j1/chunks/00001-0-1000.json']) {
      expect(can('splitter', 's3:GetObject', object(key)), `splitter reads ${key}`).toBe(false);
    }
    for (const key of ['api-keys/x.json', 'tenants/acme/jobs/j1.json', 'inbox/talk.mp3', 'uploads/j1/talk.mp3']) {
      expect(can('splitter', 's3:PutObject', object(key)), `splitter writes ${key}`).toBe(false);
    }
    expect(can('splitter', 's3:DeleteObject', object('results/j1/transcript.json'))).toBe(false);
    // What it needs: the uploads, job state, the running index, and writing a failed job's result.
    for (const key of ['inbox/a b+c ü.mp3', 'uploads/j1/talk.m4a', 'tenants/acme/inbox/talk.mp3', 'jobs/j1/manifest.json', 'jobs/j1/status.json', 'jobs/j1/request.json', 'jobs/j1/audio/00001-0-1000.flac']) {
      expect(can('splitter', 's3:GetObject', object(key)), `splitter reads ${key}`).toBe(true);
    }
    for (const key of ['jobs/j1/manifest.json', 'jobs/j1/audio/00001-0-1000.flac', 'jobs/j1/source.claim', 'running/j1', 'results/j1/transcript.json']) {
      expect(can('splitter', 's3:PutObject', object(key)), `splitter writes ${key}`).toBe(true);
    }
    expect(can('splitter', 's3:ListBucket', bucket)).toBe(true);
  });

  it('gives the drop-folder splitter the moves it makes, and still no keys', () => {
    const drop = synth({ profilesFile: join(dir, 'profiles.yaml') });
    const policy = policyOf(drop.stack, drop.resources, drop.stack.splitter.fn);
    const obj = (k: string) => `<${drop.stack.getLogicalId(drop.stack.ingest.bucket.node.defaultChild as any)}.Arn>/${k}`;
    expect(allowed(policy, 's3:PutObject', obj('failed/meetings/talk.mp3'))).toBe(true);
    expect(allowed(policy, 's3:DeleteObject', obj('inbox/meetings/talk.mp3'))).toBe(true);
    expect(allowed(policy, 's3:GetObject', obj('api-keys/x.json'))).toBe(false);
    expect(allowed(policy, 's3:GetObject', obj('tenants/acme/jobs/j1.json'))).toBe(false);
  });

  it('grants each stage what it does', () => {
    expect(can('transcriber', 's3:GetObject', object('jobs/j1/audio/00001-0-1000.flac'))).toBe(true);
    expect(can('transcriber', 's3:PutObject', object('jobs/j1/aggregate.claim'))).toBe(true);
    expect(can('transcriber', 's3:GetObject', object('results/j1/transcript.json'))).toBe(false);
    for (const name of ['aggregator', 'dlqConsumer', 'sweeper', 'enricher'] as const) {
      expect(can(name, 's3:PutObject', object('results/j1/transcript.json')), name).toBe(true);
      expect(can(name, 's3:GetObject', object('inbox/meetings/talk.mp3')), name).toBe(true); // copy source of a drop move
      expect(can(name, 's3:DeleteObject', object('inbox/meetings/talk.mp3')), name).toBe(true);
      expect(can(name, 's3:PutObject', object('processed/meetings/talk.mp3')), name).toBe(true);
    }
    expect(can('api', 's3:PutObject', object('uploads/j1/talk.mp3'))).toBe(true); // presigned PUT
    expect(can('api', 's3:PutObject', object('tenants/acme/jobs/j1.json'))).toBe(true);
    expect(can('api', 's3:GetObject', object('results/j1/transcript.srt'))).toBe(true); // presigned GET
    expect(can('webhooks', 's3:PutObject', object('webhooks/dead-letter/j1/w1.json'))).toBe(true);
    expect(can('webhooks', 's3:PutObject', object('jobs/j1/webhooks/w1/delivered.json'))).toBe(true);
    expect(can('webhooks', 's3:GetObject', object('tenants/acme/jobs/j1.json'))).toBe(false);
  });

  it('grants nothing on the whole bucket', () => {
    for (const fn of Object.values(fns())) {
      for (const s of policyOf(stack, resources, fn)) expect(s.Resource, fn.node.path).not.toContain(`${bucket}/*`);
    }
  });
});

// ---------------------------------------------------------------------------------------------- smaller gaps

describe('queues, alarms and warnings', () => {
  it('lets S3 send to the split queue only for this bucket and this account', () => {
    const { stack, resources } = synth({});
    const queueId = stack.getLogicalId(stack.ingest.splitQueue.queue.node.defaultChild as any);
    const policy = Object.values(resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && r.Properties.Queues.some((q: any) => q.Ref === queueId))!;
    const fromS3 = (policy.Properties.PolicyDocument.Statement as any[]).filter((s) => s.Principal?.Service === 's3.amazonaws.com');
    expect(fromS3.length).toBeGreaterThan(0);
    for (const s of fromS3) {
      expect(s.Condition.ArnLike['aws:SourceArn']).toBeDefined();
      expect(s.Condition.StringEquals['aws:SourceAccount']).toBe(ENV.account);
    }
  });

  it('redrives after at least 5 receives on every queue a Lambda function consumes', () => {
    const { resources } = synth({ webhookSecretName: 'voxpipe/webhook-signing', enrich: 'true' });
    const consumed = new Set(Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping').map((m) => m.Properties.EventSourceArn['Fn::GetAtt'][0]));
    for (const id of consumed) {
      const redrive = resources[id]!.Properties.RedrivePolicy;
      if (redrive) expect(redrive.maxReceiveCount, id).toBeGreaterThanOrEqual(5);
    }
  });

  it('alarms on API function errors and on an unusable ffmpeg', () => {
    const { stack, resources } = synth({});
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((a) => a.Properties);
    const apiFn = stack.getLogicalId(stack.api.fn.node.defaultChild as any);
    expect(alarms.some((a) => a.MetricName === 'Errors' && a.Dimensions?.[0]?.Value?.Ref === apiFn)).toBe(true);
    expect(alarms).toContainEqual(
      expect.objectContaining({ MetricName: 'FfmpegUnusable', Namespace: 'voxpipe', Dimensions: [{ Name: 'service', Value: 'voxpipe-splitter' }], Threshold: 0 }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({ MetricName: 'InfrastructureErrors', Namespace: 'voxpipe', Dimensions: [{ Name: 'service', Value: 'voxpipe-splitter' }], Threshold: 0 }),
    );
  });

  it("gives the CDK bucket-notifications function's logs a retention", () => {
    const { resources } = synth({});
    const [fn] = Object.entries(resources).filter(([id]) => id.startsWith('BucketNotificationsHandler') && resources[id]!.Type === 'AWS::Lambda::Function');
    const group = fn![1].Properties.LoggingConfig.LogGroup.Ref as string;
    expect(resources[group]!.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('warns at synth when alarms have no action and when the 2018 ffmpeg layer is deployed', () => {
    const warnings = (ctx: Record<string, string>) => Annotations.fromStack(synth(ctx).stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
    const plain = warnings({});
    expect(plain.some((w) => /no -c alarmEmail/.test(w))).toBe(true);
    expect(plain.some((w) => /ffmpeg layer: the bundled .* 2018/.test(w))).toBe(true);
    const configured = warnings({ alarmEmail: 'ops@example.com', ffmpegLayerArn: 'arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg7:3' });
    expect(configured.filter((w) => /alarmEmail|ffmpeg layer/.test(w))).toEqual([]);
  });

  it('deploys the ffmpeg layer given by ARN (beside the Silero layer; with -c pauses=energy alone)', () => {
    const { stack, resources } = synth({ ffmpegLayerArn: 'arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg7:3' });
    const silero = stack.getLogicalId(stack.splitter.sileroLayer!.layer.node.defaultChild as any);
    expect(resources[stack.getLogicalId(stack.splitter.fn.node.defaultChild as any)]!.Properties.Layers).toEqual(['arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg7:3', { Ref: silero }]);
    expect(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::LayerVersion').map(([id]) => id)).toEqual([silero]);
    const energy = synth({ ffmpegLayerArn: 'arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg7:3', pauses: 'energy' });
    expect(energy.resources[energy.stack.getLogicalId(energy.stack.splitter.fn.node.defaultChild as any)]!.Properties.Layers).toEqual(['arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg7:3']);
    expect(Object.values(energy.resources).some((r) => r.Type === 'AWS::Lambda::LayerVersion')).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------- context

describe('context keys', () => {
  it('sends the provider base URL to the transcriber, and to the enricher for the same vendor', () => {
    const { stack, resources } = synth({ provider: 'openai-compatible', model: 'm', baseUrl: 'https://vllm.example.com/v1', enrich: 'true' });
    const env = (fn: any) => resources[stack.getLogicalId(fn.node.defaultChild)]!.Properties.Environment.Variables;
    expect(env(stack.transcriber.fn).VOXPIPE_BASE_URL).toBe('https://vllm.example.com/v1');
    expect(env(stack.enricher!.fn).VOXPIPE_CHAT_BASE_URL).toBe('https://vllm.example.com/v1');
  });

  it.each([
    [{ provider: 'openai-compatible' }, /-c baseUrl: required with -c provider=openai-compatible/],
    [{ baseUrl: 'http://vllm.example.com/v1' }, /-c baseUrl: https URL expected/],
    [{ baseUrl: 'not a url' }, /-c baseUrl/],
    [{ chatBaseUrl: 'http://10.0.0.5/v1' }, /-c chatBaseUrl: https URL expected/],
    [{ ffmpegLayerArn: 'arn:aws:s3:::bucket/layer.zip' }, /-c ffmpegLayerArn: a layer version ARN/],
    [{ ffmpegLayerArn: 'arn:aws:lambda:eu-west-1:123456789012:layer:f:1', ffmpegLayerZip: 'x.zip' }, /-c ffmpegLayerZip: give -c ffmpegLayerArn or -c ffmpegLayerZip, not both/],
    [{ chunkSeconds: '5' }, /-c chunkSeconds/],
    [{ alarmEmail: 'ops' }, /-c alarmEmail/],
  ])('refuses %o naming the key', (ctx, message) => {
    expect(() => stackPropsFromContext((k) => (ctx as Record<string, string>)[k])).toThrow(message);
  });

  it('accepts http only on a loopback host (local test servers)', () => {
    expect(stackPropsFromContext((k) => ({ provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1' })[k as 'provider'])).toMatchObject({ baseUrl: 'http://127.0.0.1:8000/v1' });
  });

  it('cdk.json sets only the defaults context.ts has (one chunk length everywhere)', () => {
    const cdkJson = JSON.parse(readFileSync(join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    const defaults = stackPropsFromContext(() => undefined) as Record<string, unknown>;
    for (const [key, value] of Object.entries(cdkJson.context)) expect(defaults[key], `cdk.json ${key}`).toEqual(value);
    expect(defaults.chunkSeconds).toBe(120);
  });

  it('lists every context key in infra/README.md with its default', () => {
    const readme = readFileSync(join(process.cwd(), 'infra/README.md'), 'utf8');
    const rows = readme.split('\n').filter((l) => l.startsWith('| `'));
    for (const key of Object.keys(Context.shape)) {
      const row = rows.find((r) => r.split('|')[1]!.includes(`\`${key}\``));
      expect(row, `infra/README.md has no row for -c ${key}`).toBeDefined();
      expect(row!.split('|')[2]!.trim(), `${key}: default column`).not.toBe('');
    }
  });
});
