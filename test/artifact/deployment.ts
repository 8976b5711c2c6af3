/**
 * The stack as `cdk deploy` would ship it, run on this machine: the synthesized template and the cloud
 * assembly's assets (bundled `index.mjs` per function, the ffmpeg layer), wired as the template wires them.
 *
 * - Every function runs from its asset folder under the Lambda runtime's Node 22 (`lambda-runtime.ts`), with the
 *   environment the template gives it (Ref / Fn::GetAtt / Fn::Join resolved to the harness's queues, bucket, bus
 *   and secrets), plus what the Lambda runtime itself sets (region, function name, credentials, PATH).
 * - Layers: Lambda extracts a function's layers into /opt, in order (a later layer's file wins). Here the layers'
 *   asset folders stand in for /opt: an environment value under `/opt/` (e.g. `VOXPIPE_FFMPEG=/opt/bin/ffmpeg`,
 *   `VOXPIPE_SILERO_MODEL=/opt/silero/…`) is mapped to the last layer folder holding that path, each layer's `bin/`
 *   goes first on PATH (so the splitter runs the layer's ffmpeg 4.1, never Debian's), and NODE_PATH lists each
 *   layer's `nodejs/node22/node_modules` and `nodejs/node_modules` as the runtime's bootstrap does for /opt.
 * - AWS: one gateway (`aws-gateway.ts`) in front of s3rver (+ the conditional-write proxy), local-aws-sqs and the
 *   EventBridge / Secrets Manager double; it checks each call against the function's role from the template.
 * - SQS: queues with the template's redrive policies (maxReceiveCount, DLQ); event source mappings with the
 *   template's batch size, max concurrency and partial batch responses, polling with the function's role.
 * - S3 → SQS: the template's bucket notification configuration (events, prefix/suffix filters); messages shaped as
 *   S3 sends them (form-encoded keys, version ids, and the `s3:TestEvent` when the configuration is applied).
 *
 * What the harness changes, and why (everything else is the template's):
 * - queue visibility timeouts are `visibilitySeconds` (default 2 s) instead of 6× the function timeout, so a
 *   crashed invocation's messages come back within a test;
 * - `VOXPIPE_RETRY_BASE_SECONDS=1` (default 10 s): the first redelivery delay of a failed record;
 * - the provider's base URL points at the provider double (the stack uses the vendor's public endpoint);
 * - endpoints (`AWS_ENDPOINT_URL_*`, `VOXPIPE_S3_ENDPOINT`) point at the gateway; queue URLs are the gateway's;
 * - flexible checksums only when required (s3rver does not implement them);
 * - event source mappings without `MaximumConcurrency` get 2 pollers (Lambda would scale further).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, GetQueueAttributesCommand, type SQSClient, SendMessageCommand, SQSClient as Sqs } from '@aws-sdk/client-sqs';
import { uploadJobId } from '../../functions/lib/s3-event.js';
import { type RecordedEvent, startAwsJsonDouble } from '../aws/aws-json-double.js';
import { startConditionalS3Proxy } from '../aws/conditional-s3-proxy.js';
import { FAKE_AWS, startS3Emulator, startSqsEmulator } from '../aws/emulators.js';
import { type EventSourceMapping, startEventSourceMapping } from '../aws/event-source-mapping.js';
import { type FaultPlan, type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { type AwsGateway, type CrashPlan, startAwsGateway } from './aws-gateway.js';
import { rolePolicies } from './iam.js';
import { FunctionRuntime } from './lambda-runtime.js';
import { encodeS3EventKey } from './s3-notification.js';
import { type CloudAssembly, TEST_ENV } from './synth.js';
import { intrinsicResolver, ofType, physicalResources, referencedId } from './template.js';

const API_KEY = 'artifact-test-key';
const ADMIN_KEY = 'AKIAHARNESSADMIN';

export interface ArtifactOptions {
  readonly faults?: FaultPlan;
  /**
   * Visibility timeout of every queue. On AWS it is 6× the consumer's timeout (up to 90 minutes); here it must
   * outlast the slowest invocation on a busy machine, and stay short where a test waits for a crashed
   * invocation's messages to come back. A message received again while its first invocation still runs is
   * recorded in `overlaps` (a harness setting too short, not a product bug). @default 30
   */
  readonly visibilitySeconds?: number;
  /**
   * When set, the messages of an invocation whose environment crashed come back after this many seconds instead
   * of the rest of their visibility timeout (a ChangeMessageVisibility on the crashed batch): the same redelivery,
   * sooner, so crash tests can keep a visibility timeout long enough for any invocation on a busy machine.
   */
  readonly crashRedeliverySeconds?: number;
  /** Extra environment per function logical-id prefix (e.g. `{ Transcriber: { … } }`); say why in the test. */
  readonly envOverrides?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface QueueInfo {
  readonly id: string;
  readonly name: string;
  readonly arn: string;
  readonly emulatorUrl: string;
  readonly maxReceiveCount?: number;
  readonly dlq?: string;
}

export interface ArtifactDeployment {
  readonly bucket: string;
  readonly gateway: AwsGateway;
  readonly double: ProviderDouble;
  readonly events: readonly RecordedEvent[];
  readonly runtimes: ReadonlyMap<string, FunctionRuntime>;
  readonly queues: ReadonlyMap<string, QueueInfo>;
  readonly mappings: readonly { readonly fn: string; readonly queue: string; readonly esm: EventSourceMapping }[];
  /** Messages delivered again while an invocation holding them was still running (see `visibilitySeconds`). */
  readonly overlaps: string[];
  /** S3 notification bodies delivered to queues so far. */
  readonly notifications: string[];
  /** Secret ARN → value, as the Secrets Manager double holds them. */
  readonly secrets: ReadonlyMap<string, string>;
  /** The physical id of each resource (logical id → Ref value and attributes). */
  readonly physical: ReadonlyMap<string, { readonly ref: string; readonly attributes: Readonly<Record<string, string>> }>;
  /** The runtime of the function whose logical id starts with `prefix`. */
  fn(prefix: string): FunctionRuntime;
  /** Upload as a user would (PutObject to the bucket); S3 notifies the queue. Returns the job id the splitter derives. */
  upload(key: string, file: string | Uint8Array): Promise<{ jobId: string; versionId: string }>;
  /** Deliver the last notification of `key` again (S3 notifications are at-least-once). */
  renotify(key: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  list(prefix: string): Promise<string[]>;
  terminalEvents(jobId: string): RecordedEvent[];
  waitForTerminal(jobId: string, timeoutMs?: number): Promise<RecordedEvent>;
  /** Messages in a queue (visible + in flight + delayed), by logical-id prefix. */
  depth(queuePrefix: string): Promise<number>;
  /** Wait until all queues are empty and every function idle for `quietMs`. */
  settle(quietMs?: number, timeoutMs?: number): Promise<void>;
  crashAt(plan: CrashPlan): Promise<unknown>;
  /** Recent log lines of every function (for failure messages). */
  logs(): string;
  close(): Promise<void>;
}

export async function deployArtifact(assembly: CloudAssembly, opts: ArtifactOptions = {}): Promise<ArtifactDeployment> {
  const { template } = assembly;
  const closers: (() => Promise<unknown>)[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'voxpipe-artifact-run-'));
  closers.push(async () => rmSync(scratch, { recursive: true, force: true }));
  try {
    const s3rver = await startS3Emulator([]);
    closers.push(() => s3rver.close());
    const conditional = await startConditionalS3Proxy(s3rver.endpoint);
    closers.push(() => conditional.close());
    const sqsEmu = await startSqsEmulator();
    closers.push(() => sqsEmu.close());
    const json = await startAwsJsonDouble();
    closers.push(() => json.close());
    const double = await startProviderDouble({ vendor: 'mistral', recognize: recognizeTones, faults: opts.faults, apiKey: API_KEY });
    closers.push(() => double.close());

    const queueUrls = new Map<string, string>();
    const secretArns = new Map<string, string>();
    const versionedBuckets = new Set<string>();
    const policies = new Map<string, any[]>();
    const runtimes = new Map<string, FunctionRuntime>();
    const notifications: string[] = [];
    const lastNotification = new Map<string, { queueUrl: string; body: string }[]>();
    const emulatorSqs: SQSClient = sqsEmu.client();
    closers.push(async () => emulatorSqs.destroy());

    // S3 → SQS, from the template's notification configuration.
    type Target = { bucket: string; queueArn: string; events: string[]; prefix: string; suffix: string };
    const targets: Target[] = [];
    const queueByArn = new Map<string, QueueInfo>();
    const jobsByKey = new Map<string, string>();
    const objectCreated = async (e: { bucket: string; key: string; eventName: string; size: number; eTag: string; versionId?: string }) => {
      jobsByKey.set(e.key, uploadJobId({ bucket: e.bucket, key: e.key, version: e.versionId ?? e.eTag }));
      const sends: { queueUrl: string; body: string }[] = [];
      for (const t of targets) {
        if (t.bucket !== e.bucket || !e.key.startsWith(t.prefix) || !e.key.endsWith(t.suffix)) continue;
        if (!t.events.some((p) => p === 's3:ObjectCreated:*' || p === `s3:${e.eventName}`)) continue;
        const queue = queueByArn.get(t.queueArn);
        if (!queue) throw new Error(`notification target ${t.queueArn} is not a queue of this stack`);
        const body = s3EventBody(e, TEST_ENV.region);
        notifications.push(body);
        sends.push({ queueUrl: queue.emulatorUrl, body });
        await emulatorSqs.send(new SendMessageCommand({ QueueUrl: queue.emulatorUrl, MessageBody: body }));
      }
      if (sends.length) lastNotification.set(e.key, sends);
    };

    let runtimeKill: (key: string, fn: string) => void = () => {};
    const gateway = await startAwsGateway({
      upstream: { s3: conditional.endpoint, sqs: sqsEmu.endpoint, json: json.endpoint },
      region: TEST_ENV.region,
      account: TEST_ENV.account,
      policies,
      queueUrls,
      secretArns,
      versionedBuckets,
      emulatorAccessKey: FAKE_AWS.credentials.accessKeyId,
      objectCreated,
      kill: (env) => runtimeKill(env.key, env.fn),
      jobOfKey: (key) => jobsByKey.get(key),
    });
    closers.push(() => gateway.close());
    gateway.principal(ADMIN_KEY, { kind: 'admin' });

    const physical = physicalResources(template, TEST_ENV, (name) => `${gateway.endpoint}/${TEST_ENV.account}/${name}`);
    const resolve = intrinsicResolver(TEST_ENV, physical);
    for (const [role, statements] of rolePolicies(template, resolve)) policies.set(role, statements);

    const adminS3 = new S3Client({
      region: TEST_ENV.region,
      credentials: { accessKeyId: ADMIN_KEY, secretAccessKey: 'admin' },
      endpoint: gateway.endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    closers.push(async () => adminS3.destroy());

    // Buckets.
    let ingestBucket = '';
    for (const [id, r] of ofType(template, 'AWS::S3::Bucket')) {
      const name = physical.get(id)!.ref;
      await adminS3.send(new CreateBucketCommand({ Bucket: name }));
      if (r.Properties?.VersioningConfiguration?.Status === 'Enabled') versionedBuckets.add(name);
      // The ingest bucket: not the access-log bucket (LogDeliveryWrite), not the dashboard's asset bucket.
      if (!r.Properties?.AccessControl && !id.startsWith('Dashboard')) ingestBucket = name;
    }

    // Queues: DLQs first, then queues whose redrive policy points at them.
    const queues = new Map<string, QueueInfo>();
    const queueResources = ofType(template, 'AWS::SQS::Queue').sort(([, a], [, b]) => Number(!!a.Properties?.RedrivePolicy) - Number(!!b.Properties?.RedrivePolicy));
    for (const [id, r] of queueResources) {
      const name = physical.get(id)!.attributes.QueueName!;
      const redrive = r.Properties?.RedrivePolicy;
      const dlqId = redrive ? referencedId(redrive.deadLetterTargetArn) : undefined;
      const attributes: Record<string, string> = { VisibilityTimeout: String(opts.visibilitySeconds ?? 30) };
      if (redrive) {
        const dlq = queues.get(dlqId!)!;
        const dlqArn = (await emulatorSqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.emulatorUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
        attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: Number(redrive.maxReceiveCount) });
      }
      const emulatorUrl = (await emulatorSqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
      queueUrls.set(name, emulatorUrl);
      const info: QueueInfo = { id, name, arn: physical.get(id)!.attributes.Arn!, emulatorUrl, maxReceiveCount: redrive ? Number(redrive.maxReceiveCount) : undefined, dlq: dlqId };
      queues.set(id, info);
      queueByArn.set(info.arn, info);
    }

    // Secrets the stack creates hold the provider key (the operator puts it there after deploy), but the dashboard's
    // session key, which keeps the random value Secrets Manager generates at deploy.
    for (const [id, r] of ofType(template, 'AWS::SecretsManager::Secret')) {
      const arn = physical.get(id)!.ref;
      const length = Number(r.Properties?.GenerateSecretString?.PasswordLength ?? 0);
      json.secrets.set(arn, id.startsWith('DashboardSessionKey') ? randomBytes(length).toString('base64url').slice(0, length) : API_KEY);
    }

    // Bucket notifications; applying the configuration makes S3 send one s3:TestEvent to each queue.
    for (const [, r] of ofType(template, 'Custom::S3BucketNotifications')) {
      const props = resolve(r.Properties) as { BucketName: string; NotificationConfiguration: { QueueConfigurations?: any[] } };
      for (const q of props.NotificationConfiguration.QueueConfigurations ?? []) {
        const rules: { Name: string; Value: string }[] = q.Filter?.Key?.FilterRules ?? [];
        targets.push({
          bucket: props.BucketName,
          queueArn: q.QueueArn,
          events: q.Events,
          prefix: rules.find((f) => f.Name.toLowerCase() === 'prefix')?.Value ?? '',
          suffix: rules.find((f) => f.Name.toLowerCase() === 'suffix')?.Value ?? '',
        });
      }
      for (const arn of new Set(targets.map((t) => t.queueArn))) {
        const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: props.BucketName, RequestId: 'HARNESS0000000001', HostId: 'harness' });
        notifications.push(testEvent);
        await emulatorSqs.send(new SendMessageCommand({ QueueUrl: queueByArn.get(arn)!.emulatorUrl, MessageBody: testEvent }));
      }
    }

    // Functions with their environment, layers and credentials.
    const layerDir = (ref: unknown): string => {
      const id = referencedId(ref);
      const path = id ? template.Resources[id]?.Metadata?.['aws:asset:path'] : undefined;
      if (!path) throw new Error(`layer ${JSON.stringify(ref)} has no asset in the cloud assembly`);
      return join(assembly.dir, path);
    };
    for (const [id, r] of ofType(template, 'AWS::Lambda::Function')) {
      const assetPath = r.Metadata?.['aws:asset:path'];
      if (!assetPath) continue; // CDK's inline Python custom-resource handler (bucket notifications): deploy-time only
      const p = r.Properties!;
      const layers: string[] = (p.Layers ?? []).map(layerDir);
      const fromTemplate = resolve(p.Environment?.Variables ?? {}) as Record<string, string>;
      const mapOpt = (v: string) => {
        if (!layers[0] || !v.startsWith('/opt/')) return v;
        const rel = v.slice('/opt/'.length);
        const holder = [...layers].reverse().find((l) => existsSync(join(l, rel))) ?? layers[0];
        return join(holder, rel);
      };
      const name = physical.get(id)!.ref;
      const overrides = Object.entries(opts.envOverrides ?? {}).filter(([prefix]) => id.startsWith(prefix)).map(([, v]) => v);
      const env: Record<string, string> = {
        // What the Lambda runtime sets (credentials are added per environment by FunctionRuntime).
        AWS_REGION: TEST_ENV.region,
        AWS_DEFAULT_REGION: TEST_ENV.region,
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
        AWS_EXECUTION_ENV: `AWS_Lambda_${p.Runtime}`,
        LAMBDA_TASK_ROOT: join(assembly.dir, assetPath),
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        // Lambda's PATH ends with /opt/bin; the layer goes first here because this machine has its own ffmpeg.
        PATH: [...layers.map((l) => join(l, 'bin')), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
        LD_LIBRARY_PATH: layers.map((l) => join(l, 'lib')).join(':'),
        // The nodejs22.x bootstrap: /opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/…:/var/task.
        NODE_PATH: [...layers.map((l) => join(l, 'nodejs', 'node22', 'node_modules')), ...layers.map((l) => join(l, 'nodejs', 'node_modules')), join(assembly.dir, assetPath)].join(':'),
        TMPDIR: scratch,
        // The network: every AWS endpoint is the gateway.
        AWS_ENDPOINT_URL_S3: gateway.endpoint,
        AWS_ENDPOINT_URL_SQS: gateway.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: gateway.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: gateway.endpoint,
        VOXPIPE_S3_ENDPOINT: gateway.endpoint,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        ...Object.fromEntries(Object.entries(fromTemplate).map(([k, v]) => [k, mapOpt(String(v))])),
        VOXPIPE_RETRY_BASE_SECONDS: '1',
        VOXPIPE_BASE_URL: double.url,
        ...Object.assign({}, ...overrides),
      };
      const roleId = referencedId(p.Role)!;
      const runtime = new FunctionRuntime(
        { id, codeDir: join(assembly.dir, assetPath), layerDirs: layers, handler: p.Handler, env, timeoutMs: Number(p.Timeout ?? 3) * 1000 },
        (e) => gateway.principal(e.key, { kind: 'function', fn: id, role: roleId, env: e }),
      );
      runtimes.set(id, runtime);
      closers.push(() => runtime.close());
      gateway.principal(`AKIAESM${id.toUpperCase().replace(/[^A-Z0-9]/g, '')}`, { kind: 'esm', fn: id, role: roleId });
    }
    runtimeKill = (key, fn) => void runtimes.get(fn)?.kill(key);

    // Event source mappings, polling with the function's role.
    const mappings: { fn: string; queue: string; esm: EventSourceMapping }[] = [];
    const overlaps: string[] = [];
    const inInvocation = new Set<string>();
    for (const [, r] of ofType(template, 'AWS::Lambda::EventSourceMapping')) {
      const p = r.Properties!;
      const fnId = referencedId(p.FunctionName)!;
      const queueId = referencedId(p.EventSourceArn)!;
      const runtime = runtimes.get(fnId);
      const queue = queues.get(queueId);
      if (!runtime || !queue) throw new Error(`event source mapping ${fnId} ← ${queueId}: unknown function or queue`);
      const client = new Sqs({
        region: TEST_ENV.region,
        endpoint: gateway.endpoint,
        credentials: { accessKeyId: `AKIAESM${fnId.toUpperCase().replace(/[^A-Z0-9]/g, '')}`, secretAccessKey: 'esm' },
      });
      closers.push(async () => client.destroy());
      const reportsFailures = (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures');
      const esm = startEventSourceMapping({
        client,
        queueUrl: physical.get(queueId)!.ref,
        queueArn: queue.arn,
        awsRegion: TEST_ENV.region,
        batchSize: Number(p.BatchSize ?? 10),
        maxConcurrency: Number(p.ScalingConfig?.MaximumConcurrency ?? 2),
        timeoutMs: runtime.spec.timeoutMs + 5000,
        handler: async (event) => {
          const ids = event.Records.map((r) => r.messageId);
          for (const id of ids) if (inInvocation.has(id)) overlaps.push(`${queue.id} ${id}`);
          for (const id of ids) inInvocation.add(id);
          try {
            const result = await runtime.invoke(event);
            // Without ReportBatchItemFailures, Lambda ignores the response: a returned value means all succeeded.
            return reportsFailures ? result : undefined;
          } catch (err) {
            if (opts.crashRedeliverySeconds !== undefined && /Runtime exited/.test(String(err))) {
              for (const r of event.Records) {
                await emulatorSqs
                  .send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.emulatorUrl, ReceiptHandle: r.receiptHandle, VisibilityTimeout: opts.crashRedeliverySeconds }))
                  .catch(() => {}); // already deleted by a racing duplicate: nothing to bring back
              }
            }
            throw err;
          } finally {
            for (const id of ids) inInvocation.delete(id);
          }
        },
      });
      mappings.push({ fn: fnId, queue: queueId, esm });
    }
    // Pollers stop before the runtimes and emulators close (closers run in reverse).
    closers.push(() => Promise.all(mappings.map((m) => m.esm.stop())));

    const terminalEvents = (jobId: string) =>
      json.events.filter((e) => e.detail.jobId === jobId && (e.detailType === 'voxpipe.job.completed' || e.detailType === 'voxpipe.job.failed'));
    const queueByPrefix = (prefix: string) => {
      const q = [...queues.values()].find((x) => x.id.startsWith(prefix));
      if (!q) throw new Error(`no queue ${prefix}*; queues: ${[...queues.keys()].join(', ')}`);
      return q;
    };
    const depthOf = async (q: QueueInfo) => {
      const a = (
        await emulatorSqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: q.emulatorUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        )
      ).Attributes!;
      return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
    };
    const logs = () => [...runtimes.values()].flatMap((r) => r.logs.slice(-60)).join('\n');

    const deployment: ArtifactDeployment = {
      bucket: ingestBucket,
      gateway,
      double,
      events: json.events,
      runtimes,
      queues,
      mappings,
      overlaps,
      notifications,
      secrets: json.secrets,
      physical,
      fn(prefix) {
        const r = [...runtimes.entries()].find(([id]) => id.startsWith(prefix));
        if (!r) throw new Error(`no function ${prefix}*; functions: ${[...runtimes.keys()].join(', ')}`);
        return r[1];
      },
      async upload(key, file) {
        const body = typeof file === 'string' ? await readFile(file) : file;
        const res = await adminS3.send(new PutObjectCommand({ Bucket: ingestBucket, Key: key, Body: body }));
        const versionId = res.VersionId ?? '';
        return { jobId: uploadJobId({ bucket: ingestBucket, key, version: versionId || (res.ETag ?? '').replace(/"/g, '') }), versionId };
      },
      async renotify(key) {
        for (const s of lastNotification.get(key) ?? []) await emulatorSqs.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: s.body }));
      },
      async get(key) {
        try {
          const res = await adminS3.send(new GetObjectCommand({ Bucket: ingestBucket, Key: key }));
          return await res.Body!.transformToString('utf8');
        } catch (err) {
          if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
          throw err;
        }
      },
      async list(prefix) {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const res = await adminS3.send(new ListObjectsV2Command({ Bucket: ingestBucket, Prefix: prefix, ContinuationToken: token }));
          for (const o of res.Contents ?? []) keys.push(o.Key!);
          token = res.NextContinuationToken;
        } while (token);
        return keys;
      },
      terminalEvents,
      async waitForTerminal(jobId, timeoutMs = 90_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const [event] = terminalEvents(jobId);
          if (event) return event;
          if (Date.now() > deadline) {
            throw new Error(
              `job ${jobId}: no terminal event within ${timeoutMs} ms; events: ${JSON.stringify(json.events.map((e) => [e.detailType, e.detail.jobId]))}; denied: ${JSON.stringify(gateway.denied)}\n${logs()}`,
            );
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      depth: (prefix) => depthOf(queueByPrefix(prefix)),
      async settle(quietMs = 1000, timeoutMs = 90_000) {
        const deadline = Date.now() + timeoutMs;
        let quietSince = Date.now();
        while (Date.now() - quietSince < quietMs) {
          if (Date.now() > deadline) throw new Error(`not settled within ${timeoutMs} ms\n${logs()}`);
          const busy = [...runtimes.values()].some((r) => !r.idle) || mappings.some((m) => !m.esm.idle);
          let queued = 0;
          if (!busy) for (const q of queues.values()) queued += await depthOf(q);
          if (busy || queued > 0) quietSince = Date.now();
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      crashAt: (plan) => gateway.crashAt(plan),
      logs,
      async close() {
        // VOXPIPE_ARTIFACT_LOGS=<file>: keep every function's log lines and the AWS calls for a look afterwards.
        const logFile = process.env.VOXPIPE_ARTIFACT_LOGS;
        if (logFile) {
          const calls = gateway.calls.map((c) => `[gateway] ${c.principal}#${c.instance ?? '-'} ${c.operation} ${c.authorizations.map((a) => a.resource).join(' ')}${c.allowed ? '' : ' DENIED'}`);
          appendFileSync(logFile, `${[...[...runtimes.values()].flatMap((r) => r.logs), ...calls].join('\n')}\n`);
        }
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
    return deployment;
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** One S3 event notification message body, as S3 writes it to SQS for an `ObjectCreated:*` event. */
function s3EventBody(e: { bucket: string; key: string; eventName: string; size: number; eTag: string; versionId?: string }, region: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        eventTime: new Date().toISOString(),
        eventName: e.eventName,
        userIdentity: { principalId: 'AWS:AIDAHARNESSUSER' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'HARNESSREQUEST01', 'x-amz-id-2': 'harness/host/id' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'harness-notification',
          bucket: { name: e.bucket, ownerIdentity: { principalId: 'AHARNESSOWNER' }, arn: `arn:aws:s3:::${e.bucket}` },
          object: {
            key: encodeS3EventKey(e.key),
            size: e.size,
            eTag: e.eTag,
            ...(e.versionId ? { versionId: e.versionId } : {}),
            sequencer: `00${Date.now().toString(16).toUpperCase()}`,
          },
        },
      },
    ],
  });
}
