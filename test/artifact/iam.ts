/**
 * A small IAM evaluator for the artifact harness: each function's identity policies, read from the synthesized
 * template (inline `AWS::IAM::Policy` / `AWS::IAM::ManagedPolicy` attached to its role, and the role's own
 * `Policies`), resolved to ARNs in the test account and region, and evaluated on (action, resource ARN):
 * an explicit Deny wins, else any Allow, else the implicit deny. `Action`/`NotAction`, `Resource`/`NotResource`
 * and `*`/`?` wildcards are honoured. Conditions are evaluated for the request context keys modelled here
 * (`s3:prefix` of a ListBucket; absent from every other request, as on S3) with the `String(Not)Equals`,
 * `String(Not)Like` operators and their `IfExists` forms; a condition on any other key is applied as if it held
 * (reported by `conditionsIgnored`). Resource policies, SCPs, permission boundaries and session policies are
 * outside this model.
 *
 * Also here: how an AWS request on the wire maps to IAM actions and resources (S3 REST, SQS JSON/query,
 * EventBridge and Secrets Manager JSON).
 */
import { type CfnTemplate, ofType, referencedId } from './template.js';

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: unknown;
  readonly Sid?: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** `explicit-deny`, `allow` or `implicit-deny`. */
  readonly reason: 'explicit-deny' | 'allow' | 'implicit-deny';
  readonly statement?: Statement;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, caseInsensitive ? 'is' : 's');
  return re.test(value);
}

/** Request context keys this model knows: a condition on one of them is evaluated, on any other assumed to hold. */
export const MODELLED_CONTEXT_KEYS = new Set(['s3:prefix']);

/** Whether a statement's `Condition` holds for `context` (keys outside `MODELLED_CONTEXT_KEYS` count as holding). */
function conditionHolds(condition: unknown, context: Readonly<Record<string, string>>): boolean {
  if (!condition || typeof condition !== 'object') return true;
  for (const [operator, block] of Object.entries(condition as Record<string, Record<string, string | string[]>>)) {
    const ifExists = operator.endsWith('IfExists');
    const op = operator.replace(/IfExists$/, '');
    for (const [rawKey, values] of Object.entries(block)) {
      const key = rawKey.toLowerCase();
      if (!MODELLED_CONTEXT_KEYS.has(key)) continue;
      const value = context[key];
      if (value === undefined) {
        if (ifExists || op.startsWith('StringNot')) continue;
        return false;
      }
      const patterns = list(values);
      const hit =
        op === 'StringEquals' || op === 'StringNotEquals'
          ? patterns.includes(value)
          : op === 'StringLike' || op === 'StringNotLike'
            ? patterns.some((p) => wildcardMatch(p, value))
            : true;
      if (op.startsWith('StringNot') ? hit : !hit) return false;
    }
  }
  return true;
}

function matches(s: Statement, action: string, resource: string): boolean {
  const actionOk = s.Action !== undefined ? list(s.Action).some((a) => wildcardMatch(a, action, true)) : !list(s.NotAction).some((a) => wildcardMatch(a, action, true));
  if (!actionOk) return false;
  return s.Resource !== undefined ? list(s.Resource).some((r) => wildcardMatch(r, resource)) : !list(s.NotResource).some((r) => wildcardMatch(r, resource));
}

/** Evaluate identity-policy statements for one request (`context`: its condition keys, see `MODELLED_CONTEXT_KEYS`). */
export function evaluate(statements: readonly Statement[], action: string, resource: string, context: Readonly<Record<string, string>> = {}): Decision {
  const applicable = statements.filter((s) => matches(s, action, resource) && conditionHolds(s.Condition, context));
  const deny = applicable.find((s) => s.Effect === 'Deny');
  if (deny) return { allowed: false, reason: 'explicit-deny', statement: deny };
  const allow = applicable.find((s) => s.Effect === 'Allow');
  if (allow) return { allowed: true, reason: 'allow', statement: allow };
  return { allowed: false, reason: 'implicit-deny' };
}

/** Statements with a `Condition` on a key this model does not evaluate. */
export const conditionsIgnored = (statements: readonly Statement[]): Statement[] =>
  statements.filter(
    (s) => s.Condition !== undefined && Object.values(s.Condition as Record<string, object>).some((block) => Object.keys(block).some((k) => !MODELLED_CONTEXT_KEYS.has(k.toLowerCase()))),
  );

/**
 * The identity-policy statements of every role in the template, by role logical id, resolved with `resolve`
 * (see `intrinsicResolver`). AWS managed policies (`ManagedPolicyArns`) are looked up in `managed`
 * (AWSLambdaBasicExecutionRole grants CloudWatch Logs only, which the harness does not route).
 */
export function rolePolicies(template: CfnTemplate, resolve: (v: unknown) => any, managed: Record<string, Statement[]> = {}): Map<string, Statement[]> {
  const byRole = new Map<string, Statement[]>();
  const add = (roleId: string, doc: { Statement?: Statement | Statement[] } | undefined) => {
    if (!doc?.Statement) return;
    const statements = resolve(Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Statement[];
    byRole.set(roleId, [...(byRole.get(roleId) ?? []), ...statements]);
  };
  for (const [id, role] of ofType(template, 'AWS::IAM::Role')) {
    byRole.set(id, byRole.get(id) ?? []);
    for (const p of role.Properties?.Policies ?? []) add(id, p.PolicyDocument);
    for (const arn of resolve(role.Properties?.ManagedPolicyArns ?? []) as string[]) add(id, { Statement: managed[arn] ?? [] });
  }
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [, policy] of ofType(template, type)) {
      for (const role of policy.Properties?.Roles ?? []) {
        const roleId = referencedId(role);
        if (roleId) add(roleId, policy.Properties?.PolicyDocument);
      }
    }
  }
  return byRole;
}

/** One IAM authorization an API call needs. */
export interface Authorization {
  readonly action: string;
  readonly resource: string;
  /** The request's condition keys (`s3:prefix` of a ListBucket with a `prefix`). */
  readonly context?: Readonly<Record<string, string>>;
}

/** S3 REST (path-style `/<bucket>/<key>`): the actions and resources a request needs. */
export function s3Authorizations(method: string, url: URL, headers: Record<string, string | string[] | undefined>, body?: Buffer): Authorization[] {
  const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
  const key = rest.map((s) => decodeURIComponent(s)).join('/');
  const q = url.searchParams;
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  const objectArn = `${bucketArn}/${key}`;
  if (!key) {
    if (method === 'POST' && q.has('delete')) {
      const keys = [...String(body ?? '').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => xmlUnescape(m[1]!));
      return keys.map((k) => ({ action: 's3:DeleteObject', resource: `${bucketArn}/${k}` }));
    }
    if (method === 'GET' || method === 'HEAD') {
      if (q.has('versions')) return [{ action: 's3:ListBucketVersions', resource: bucketArn }];
      if (q.has('uploads')) return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
      if (q.has('location')) return [{ action: 's3:GetBucketLocation', resource: bucketArn }];
      const prefix = q.get('prefix');
      return [{ action: 's3:ListBucket', resource: bucketArn, ...(prefix !== null ? { context: { 's3:prefix': prefix } } : {}) }];
    }
    if (method === 'PUT') return [{ action: 's3:CreateBucket', resource: bucketArn }];
    if (method === 'DELETE') return [{ action: 's3:DeleteBucket', resource: bucketArn }];
    return [{ action: `s3:Unknown${method}Bucket`, resource: bucketArn }];
  }
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (q.has('uploadId')) return [{ action: 's3:ListMultipartUploadParts', resource: objectArn }];
      if (q.has('tagging')) return [{ action: q.has('versionId') ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', resource: objectArn }];
      return [{ action: q.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn }];
    case 'PUT': {
      if (q.has('tagging')) return [{ action: 's3:PutObjectTagging', resource: objectArn }];
      const copySource = headers['x-amz-copy-source'];
      const put = { action: 's3:PutObject', resource: objectArn };
      if (typeof copySource !== 'string') return [put];
      const [sourcePath = '', sourceQuery = ''] = decodeURIComponent(copySource).replace(/^\//, '').split('?');
      const versioned = new URLSearchParams(sourceQuery).has('versionId');
      return [put, { action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: `arn:aws:s3:::${sourcePath}` }];
    }
    case 'POST':
      return [{ action: 's3:PutObject', resource: objectArn }]; // CreateMultipartUpload, CompleteMultipartUpload
    case 'DELETE':
      if (q.has('uploadId')) return [{ action: 's3:AbortMultipartUpload', resource: objectArn }];
      return [{ action: q.has('versionId') ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: objectArn }];
    default:
      return [{ action: `s3:Unknown${method}`, resource: objectArn }];
  }
}

/** SQS operations whose IAM action differs from the operation name. */
const SQS_ACTION: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

/** The IAM action of an SQS operation (`AmazonSQS.SendMessageBatch` or `SendMessageBatch`). */
export function sqsAction(operation: string): string {
  const op = operation.replace(/^AmazonSQS\./, '');
  return `sqs:${SQS_ACTION[op] ?? op}`;
}

function xmlUnescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
