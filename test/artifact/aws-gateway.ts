/**
 * The one AWS endpoint the artifact harness's functions see (every `AWS_ENDPOINT_URL_*` points here). For each
 * request it:
 * 1. reads the caller's access key from the SigV4 credential scope (header or presigned query) and maps it to a
 *    principal: a function's execution environment, that function's event source mapping, or the test itself;
 * 2. derives the IAM actions and resource ARNs of the call (see iam.ts) and evaluates them against the
 *    principal's role policies from the template; a denied call gets AccessDenied in the service's wire format
 *    and is recorded in `denied`;
 * 3. forwards it to the emulator of its service (S3: the conditional-write proxy in front of s3rver; SQS:
 *    local-aws-sqs; EventBridge/Secrets Manager: the JSON double), rewriting the credential and queue URLs;
 * 4. on a successful object write to a versioned bucket, gives the object a version id (`x-amz-version-id`) and
 *    reports it to `objectCreated` (the harness turns it into S3's event notification);
 * 5. can end the calling environment at its Nth AWS call (`crashAt`): `before` the call is forwarded (the call
 *    never happened) or `after` the emulator acted but before the response reaches the function.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Authorization, evaluate, s3Authorizations, sqsAction, type Statement } from './iam.js';
import type { Environment } from './lambda-runtime.js';

export type Principal =
  /** A function's execution environment. */
  | { readonly kind: 'function'; readonly fn: string; readonly role: string; readonly env: Environment }
  /** Lambda's event source mapping polling for a function (uses the function's role, as on AWS). */
  | { readonly kind: 'esm'; readonly fn: string; readonly role: string }
  /** The test itself (an operator / uploader with full access). */
  | { readonly kind: 'admin' };

export interface CallRecord {
  readonly principal: string;
  readonly instance?: number;
  readonly service: string;
  readonly operation: string;
  readonly authorizations: readonly Authorization[];
  readonly allowed: boolean;
  /** The job the call is about, when its key or message names one (see `jobOf`). */
  readonly job?: string;
}

export interface CrashPlan {
  /** Logical id of the function. */
  readonly fn: string;
  /** 1-based: the Nth AWS call the function makes (any environment) after the plan is armed, counting only calls about `job` when set. */
  readonly nth: number;
  readonly when: 'before' | 'after';
  readonly job?: string;
  /** Like `job`, for the job of this upload key (known once S3 has notified it). */
  readonly upload?: string;
}

export interface GatewayOptions {
  readonly upstream: { readonly s3: string; readonly sqs: string; readonly json: string };
  readonly region: string;
  readonly account: string;
  /** Role statements by role logical id. */
  readonly policies: ReadonlyMap<string, readonly Statement[]>;
  /** Queue name → the emulator's queue URL. */
  readonly queueUrls: ReadonlyMap<string, string>;
  /** Secret name (without suffix) → full ARN, for `SecretId`s given by name. */
  readonly secretArns: ReadonlyMap<string, string>;
  readonly versionedBuckets: ReadonlySet<string>;
  /** The access key the emulators accept (s3rver checks it). */
  readonly emulatorAccessKey: string;
  objectCreated(e: { bucket: string; key: string; eventName: string; size: number; eTag: string; versionId?: string }): Promise<void>;
  /** Ends an environment now (SIGKILL). */
  kill(env: Environment): void;
  /** The job of an object key outside `jobs/<id>/`, `results/<id>/`, `running/<id>` (e.g. an upload's key). */
  jobOfKey?(key: string): string | undefined;
}

export interface AwsGateway {
  readonly endpoint: string;
  readonly calls: CallRecord[];
  readonly denied: CallRecord[];
  /** Object reads of a missing key answered 403 (not 404) because the caller may not list the bucket without a prefix. */
  readonly missingAsDenied: CallRecord[];
  /** Register a principal under an access key. */
  principal(key: string, principal: Principal): void;
  /** Arm one crash (several may be armed, e.g. one per job); resolves with the call it hit (or never, if there are fewer calls). */
  crashAt(plan: CrashPlan): Promise<CallRecord>;
  /** Drop every armed crash. */
  disarm(): void;
  /**
   * Make matching calls of a function fail as the service does when it is unavailable (S3 503 SlowDown, others
   * 500 InternalFailure), after authorization; `undefined` removes the fault. Failed calls are in `faulted`.
   */
  fault(match: ((call: CallRecord) => boolean) | undefined): void;
  readonly faulted: CallRecord[];
  close(): Promise<void>;
}

const AMZ_JSON_TARGETS: Record<string, string> = { AWSEvents: 'events', secretsmanager: 'secretsmanager', AmazonSQS: 'sqs' };

export async function startAwsGateway(opts: GatewayOptions): Promise<AwsGateway> {
  const principals = new Map<string, Principal>();
  const calls: CallRecord[] = [];
  const denied: CallRecord[] = [];
  const missingAsDenied: CallRecord[] = [];
  let armed: { plan: CrashPlan; seen: number; fire: (c: CallRecord) => void }[] = [];
  let gatewayOrigin = '';
  let faultMatch: ((call: CallRecord) => boolean) | undefined;
  const faulted: CallRecord[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
        else res.destroy();
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gatewayOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const scope = credentialScope(req.headers, url);
    const principal = scope ? principals.get(scope.key) : undefined;
    if (!scope || !principal) {
      res.writeHead(403, { 'content-type': 'application/xml' }).end(`<Error><Code>InvalidAccessKeyId</Code><Message>unknown access key ${scope?.key}</Message></Error>`);
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const service = target ? (AMZ_JSON_TARGETS[target.split('.')[0]!] ?? scope.service) : scope.service;
    const call = describe(service, req, url, body, target);
    const allowed = principal.kind === 'admin' || call.authorizations.every((a) => evaluate(opts.policies.get(principal.role) ?? [], a.action, a.resource, a.context).allowed);
    const record: CallRecord = {
      principal: principal.kind === 'admin' ? 'admin' : principal.kind === 'esm' ? `esm:${principal.fn}` : principal.fn,
      instance: principal.kind === 'function' ? principal.env.instance : undefined,
      service,
      operation: call.operation,
      authorizations: call.authorizations,
      allowed,
      job: jobOf(service, url, body, call.authorizations),
    };
    calls.push(record);

    let crash: 'before' | 'after' | undefined;
    if (principal.kind === 'function') {
      for (const a of armed) {
        const planJob = a.plan.job ?? (a.plan.upload !== undefined ? (opts.jobOfKey?.(a.plan.upload) ?? '') : undefined);
        if (a.plan.fn !== principal.fn || (planJob !== undefined && planJob !== record.job)) continue;
        a.seen += 1;
        if (a.seen === a.plan.nth && !crash) {
          crash = a.plan.when;
          a.fire(record);
        }
      }
      armed = armed.filter((a) => a.seen < a.plan.nth);
    }
    if (crash === 'before' && principal.kind === 'function') {
      opts.kill(principal.env);
      res.destroy();
      return;
    }
    if (!allowed) {
      // (narrowed: an admin is always allowed)
      denied.push(record);
      const failed = call.authorizations.find((a) => !evaluate(opts.policies.get(principal.role) ?? [], a.action, a.resource, a.context).allowed)!;
      accessDenied(res, service, principal, failed, opts);
      return;
    }
    if (faultMatch?.(record)) {
      faulted.push(record);
      if (service === 's3') {
        res.writeHead(503, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      } else {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'InternalFailure', message: 'injected' }));
      }
      return;
    }
    let forwarded = await forward(service, req, url, body, call);
    // S3 answers a missing object with 404 only to a caller allowed s3:ListBucket on the bucket for that request
    // (no s3:prefix in its context); anyone else gets 403 AccessDenied, so a key's absence is not disclosed.
    const objectRead = service === 's3' && call.authorizations.some((a) => /^s3:GetObject/.test(a.action));
    if (objectRead && forwarded.status === 404 && principal.kind !== 'admin') {
      const bucketArn = call.authorizations[0]!.resource.split('/')[0]!;
      if (!evaluate(opts.policies.get(principal.role) ?? [], 's3:ListBucket', bucketArn).allowed) {
        missingAsDenied.push(record);
        const body403 = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
        forwarded = { status: 403, headers: { 'content-type': 'application/xml', 'content-length': String(req.method === 'HEAD' ? 0 : Buffer.byteLength(body403)) }, body: req.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(body403) };
      }
    }
    if (crash === 'after' && principal.kind === 'function') {
      opts.kill(principal.env);
      res.destroy();
      return;
    }
    res.writeHead(forwarded.status, forwarded.headers).end(forwarded.body);
  }

  /** The job a call is about: from its object keys (or list prefix), else a `jobId` in its JSON body (messages, events). */
  function jobOf(service: string, url: URL, body: Buffer, authorizations: readonly Authorization[]): string | undefined {
    if (service === 's3') {
      const keys = [...authorizations.map((a) => a.resource.split('/').slice(1).join('/')), url.searchParams.get('prefix') ?? ''];
      for (const key of keys) {
        const m = /^(?:jobs|results|running)\/([^/]+)/.exec(key);
        if (m) return m[1];
        const job = key ? opts.jobOfKey?.(key) : undefined;
        if (job) return job;
      }
      return undefined;
    }
    return /jobId\\*":\\*"([A-Za-z0-9-]+)/.exec(body.toString('utf8'))?.[1];
  }

  /** The IAM view of one request, plus what forwarding needs. */
  function describe(service: string, req: IncomingMessage, url: URL, body: Buffer, target: string): { operation: string; authorizations: Authorization[]; queueUrl?: string } {
    const method = req.method ?? 'GET';
    if (service === 's3') {
      const authorizations = s3Authorizations(method, url, req.headers, body);
      return { operation: authorizations.map((a) => a.action).join('+'), authorizations };
    }
    const json = parseJson(body);
    if (service === 'sqs') {
      const form = target ? undefined : new URLSearchParams(body.toString('utf8'));
      const operation = target ? target.split('.')[1]! : (form?.get('Action') ?? 'Unknown');
      const queueUrl = (json.QueueUrl as string | undefined) ?? form?.get('QueueUrl') ?? undefined;
      const queueName = queueUrl ? queueUrl.split('/').pop()! : ((json.QueueName as string | undefined) ?? form?.get('QueueName') ?? '*');
      return { operation, authorizations: [{ action: sqsAction(operation), resource: `arn:aws:sqs:${opts.region}:${opts.account}:${queueName}` }], queueUrl };
    }
    const operation = target.split('.')[1] ?? 'Unknown';
    if (service === 'events') {
      const buses = new Set(((json.Entries as { EventBusName?: string }[] | undefined) ?? []).map((e) => e.EventBusName ?? 'default'));
      const arn = (bus: string) => (bus.startsWith('arn:') ? bus : `arn:aws:events:${opts.region}:${opts.account}:event-bus/${bus}`);
      return { operation, authorizations: [...buses].map((b) => ({ action: `events:${operation}`, resource: arn(b) })) };
    }
    if (service === 'secretsmanager') {
      const id = String(json.SecretId ?? '');
      const arn = id.startsWith('arn:') ? id : (opts.secretArns.get(id) ?? `arn:aws:secretsmanager:${opts.region}:${opts.account}:secret:${id}-XXXXXX`);
      return { operation, authorizations: [{ action: `secretsmanager:${operation}`, resource: arn }] };
    }
    return { operation: `${service}:${operation}`, authorizations: [{ action: `${service}:${operation}`, resource: '*' }] };
  }

  async function forward(service: string, req: IncomingMessage, url: URL, body: Buffer, call: { queueUrl?: string }): Promise<Upstream> {
    const headers: IncomingHttpHeaders = { ...req.headers };
    delete headers.host;
    if (service === 's3') {
      const upstreamUrl = new URL(url.pathname + url.search, opts.upstream.s3);
      if (upstreamUrl.searchParams.has('X-Amz-Credential')) {
        upstreamUrl.searchParams.set('X-Amz-Credential', upstreamUrl.searchParams.get('X-Amz-Credential')!.replace(/^[^/]+/, opts.emulatorAccessKey));
      }
      if (typeof headers.authorization === 'string') headers.authorization = headers.authorization.replace(/Credential=[^/]+/, `Credential=${opts.emulatorAccessKey}`);
      // Versioned buckets: ask for the object's version by key only (s3rver keeps one version per key).
      upstreamUrl.searchParams.delete('versionId');
      // Ranged GETs are answered here as S3 does (s3rver ignores the end of a range and never answers a range
      // request on an empty object): the whole object is fetched, then cut.
      const range = req.method === 'GET' && typeof headers.range === 'string' ? /^bytes=(\d*)-(\d*)$/.exec(headers.range) : null;
      if (range) delete headers.range;
      const up = await send(upstreamUrl, req.method ?? 'GET', headers, body);
      if (range && up.status === 200) return cutRange(up, range[1]!, range[2]!, String(req.headers.range));
      await afterS3Write(req, url, body, up);
      return up;
    }
    if (service === 'sqs') {
      let payload = body;
      if (call.queueUrl) {
        const emulatorUrl = opts.queueUrls.get(call.queueUrl.split('/').pop()!);
        if (emulatorUrl) payload = Buffer.from(body.toString('utf8').split(JSON.stringify(call.queueUrl).slice(1, -1)).join(emulatorUrl).split(encodeURIComponent(call.queueUrl)).join(encodeURIComponent(emulatorUrl)));
      }
      headers['content-length'] = String(payload.length);
      const up = await send(new URL(url.pathname + url.search, opts.upstream.sqs), req.method ?? 'POST', headers, payload);
      // Queue URLs in answers (GetQueueUrl, ListQueues) name the gateway, as the template's do.
      const text = up.body.toString('utf8');
      const sqsOrigin = new URL(opts.upstream.sqs).origin;
      if (text.includes(sqsOrigin)) {
        up.body = Buffer.from(text.split(sqsOrigin).join(gatewayOrigin));
        up.headers['content-length'] = String(up.body.length);
      }
      return up;
    }
    return send(new URL(url.pathname + url.search, opts.upstream.json), req.method ?? 'POST', headers, body);
  }

  async function afterS3Write(req: IncomingMessage, url: URL, body: Buffer, up: Upstream): Promise<void> {
    if (up.status !== 200) return;
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = rest.map((s) => decodeURIComponent(s)).join('/');
    if (!key) return;
    const q = url.searchParams;
    let eventName: string | undefined;
    if (req.method === 'PUT' && !q.has('partNumber') && !q.has('tagging')) eventName = req.headers['x-amz-copy-source'] ? 'ObjectCreated:Copy' : 'ObjectCreated:Put';
    if (req.method === 'POST' && q.has('uploadId')) eventName = 'ObjectCreated:CompleteMultipartUpload';
    if (!eventName) return;
    if (eventName === 'ObjectCreated:CompleteMultipartUpload' && /<Error>/.test(up.body.toString('utf8'))) return;
    const head = await send(new URL(url.pathname, opts.upstream.s3), "HEAD", {}, Buffer.alloc(0));
    const versionId = opts.versionedBuckets.has(bucket) ? randomBytes(16).toString('base64url') : undefined;
    if (versionId) up.headers['x-amz-version-id'] = versionId;
    const eTag = String(head.headers.etag ?? up.headers.etag ?? '').replace(/"/g, '');
    await opts.objectCreated({ bucket, key, eventName, size: Number(head.headers['content-length'] ?? body.length), eTag, versionId });
  }

  return {
    endpoint: gatewayOrigin,
    calls,
    denied,
    missingAsDenied,
    principal: (key, p) => void principals.set(key, p),
    crashAt: (plan) =>
      new Promise((resolve) => {
        armed.push({ plan, seen: 0, fire: resolve });
      }),
    disarm: () => {
      armed = [];
    },
    fault: (match) => {
      faultMatch = match;
    },
    faulted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Upstream {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function send(url: URL, method: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: { ...headers, host: url.host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
        resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(method === 'HEAD' || method === 'GET' ? undefined : body);
  });
}

/** A 200 answer cut to `bytes=<first>-<last>` as S3 answers a Range GET: 206 with Content-Range, or 416 InvalidRange. */
function cutRange(up: Upstream, first: string, last: string, requested: string): Upstream {
  const size = up.body.length;
  let start = first === '' ? Math.max(0, size - Number(last)) : Number(first);
  let end = first === '' || last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (first === '' && last === '') [start, end] = [0, size - 1];
  if (start >= size || start > end) {
    return {
      status: 416,
      headers: { 'content-type': 'application/xml', 'content-range': `bytes */${size}` },
      body: Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message><RangeRequested>${requested}</RangeRequested><ActualObjectSize>${size}</ActualObjectSize></Error>`,
      ),
    };
  }
  const body = up.body.subarray(start, end + 1);
  return { status: 206, headers: { ...up.headers, 'content-length': String(body.length), 'content-range': `bytes ${start}-${end}/${size}` }, body };
}

/** Access key and service of a SigV4-signed request (Authorization header or presigned URL). */
function credentialScope(headers: IncomingHttpHeaders, url: URL): { key: string; service: string } | undefined {
  const credential = /Credential=([^,\s]+)/.exec(String(headers.authorization ?? ''))?.[1] ?? url.searchParams.get('X-Amz-Credential') ?? undefined;
  if (!credential) return undefined;
  const [key, , , service] = credential.split('/');
  return key && service ? { key, service } : undefined;
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8') || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** AccessDenied as each service sends it. */
function accessDenied(res: ServerResponse, service: string, principal: Principal, a: Authorization, opts: GatewayOptions): void {
  const who = principal.kind === 'admin' ? 'admin' : `arn:aws:sts::${opts.account}:assumed-role/${principal.role}/${principal.fn}`;
  const message = `User: ${who} is not authorized to perform: ${a.action} on resource: ${a.resource} because no identity-based policy allows the ${a.action} action`;
  if (service === 's3') {
    res.writeHead(403, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${message}</Message><RequestId>harness</RequestId></Error>`);
  } else if (service === 'sqs') {
    res
      .writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender' })
      .end(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message }));
  } else {
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'AccessDeniedException', Message: message }));
  }
}
