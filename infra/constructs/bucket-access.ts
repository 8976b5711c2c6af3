import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { everyObjectUnder as under, FAILED_PREFIX, INBOX_PREFIX, JOBS_PREFIX, PROCESSED_PREFIX, RESULTS_PREFIX, RUNNING_PREFIX } from '../../shared/core/keys.js';

/**
 * Least-privilege access to the ingest bucket, per key prefix (layout and prefix constants: `shared/core/keys.ts`). Each function gets exactly the prefixes its stage touches:
 *
 * | prefix                | holds                                         | read                        | write / delete |
 * | --------------------- | --------------------------------------------- | --------------------------- | -------------- |
 * | `api-keys/`           | `<sha256(key)>.json` → tenant                 | API only                    | API only (none today: keys are provisioned by the operator) |
 * | `tenants/`            | the API's job records                         | API                         | API |
 * | `tenants/*\/inbox/`   | `{ s3Key }` job sources                       | API, splitter               | API |
 * | `inbox/`, `uploads/`  | uploads                                       | splitter (+ drop movers)    | API (presigned PUT to `uploads/`); drop movers delete `inbox/` |
 * | `jobs/`, `running/`   | intermediate job state, the running index     | every stage                 | every stage |
 * | `results/`            | final transcripts                             | aggregator, enricher, failure handlers, API, webhooks | the same + splitter (write-only, a failed job's result) |
 * | `processed/`, `failed/` | moved drop-folder sources                   | –                           | drop movers |
 * | `webhooks/`           | webhook dead letters                          | webhook function            | webhook function |
 * | `dashboard-sessions/` | dashboard sign-outs (with `-c dashboard=true`) | API                        | API |
 *
 * The splitter runs ffmpeg on untrusted uploads, so it can read neither `api-keys/`, `tenants/` (but the
 * `inbox/` sources there), nor `results/` (unless the drop folder is on: a rejected drop's result is
 * copied to `results/<profile>/` by the splitter itself). Its remaining reach is `jobs/` (job state it needs
 * to resume, dedupe and fan in), without the chunk transcripts under `jobs/*\/chunks/` (an explicit Deny in
 * splitter.ts: it lists which exist). Every function lists only under the prefixes it reads.
 */
export interface BucketAccess {
  /** Prefix patterns (`jobs/*`, `tenants/*\/inbox/*`) the function may read (GetObject*, incl. HeadObject and copy source). */
  readonly read?: readonly string[];
  /** Patterns it may write (PutObject, multipart: also the target of UploadPartCopy). */
  readonly write?: readonly string[];
  /** Patterns it may delete. */
  readonly delete?: readonly string[];
}

/** Grant `access` on `bucket` to `fn`, with ListBucket under its read prefixes only; acknowledges cdk-nag's IAM5 for each prefix wildcard. */
export function grantBucketAccess(bucket: IBucket, fn: IGrantable & Construct, access: BucketAccess): void {
  const statements: [string[], readonly string[] | undefined][] = [
    [['s3:GetObject*'], access.read],
    [['s3:PutObject', 's3:Abort*'], access.write],
    [['s3:DeleteObject*'], access.delete],
  ];
  for (const [actions, patterns] of statements) {
    if (!patterns?.length) continue;
    fn.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: patterns.map((p) => bucket.arnForObjects(p)) }));
  }
  // Listing only under the prefixes it may read (`s3:prefix`): a function cannot enumerate other prefixes' keys
  // (tenants' file names, API key hashes). S3 then answers a read of a missing key with 403, which the S3
  // store tells from a real denial with a one-key listing (shared/adapters/s3-store.ts).
  const listable = [...new Set(access.read ?? [])];
  if (listable.length) {
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': listable } } }),
    );
  }

  const stack = Stack.of(fn);
  const bucketId = stack.getLogicalId(bucket.node.defaultChild as CfnBucket);
  const patterns = new Set([...(access.read ?? []), ...(access.write ?? []), ...(access.delete ?? [])]);
  for (const p of patterns) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${p}]`,
      reason: `Objects under ${p} of this stack’s own bucket: keys are per job/tenant, so the grant is per prefix (infra/constructs/bucket-access.ts).`,
    });
  }
  for (const action of ['s3:GetObject*', 's3:Abort*', 's3:DeleteObject*']) {
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action}: the object-level family (HeadObject/versions, multipart aborts, versioned deletes) on the prefixes above only.`,
    });
  }
}

/** Prefixes every stage that moves drop-folder sources needs (finalizeDropJob: copy results, move the source). */
export const DROP_MOVER: BucketAccess = {
  read: [under(INBOX_PREFIX), under(RESULTS_PREFIX)],
  write: [under(RESULTS_PREFIX), under(PROCESSED_PREFIX), under(FAILED_PREFIX)],
  delete: [under(INBOX_PREFIX)],
};

/** Job state: the manifest, status, chunk audio and results, claims, and the running index. */
export const JOB_STATE: BucketAccess = {
  read: [under(JOBS_PREFIX), under(RUNNING_PREFIX)],
  write: [under(JOBS_PREFIX), under(RUNNING_PREFIX)],
  delete: [under(JOBS_PREFIX), under(RUNNING_PREFIX)],
};

/** Union of access sets. */
export function access(...sets: readonly BucketAccess[]): BucketAccess {
  const merge = (k: keyof BucketAccess) => [...new Set(sets.flatMap((s) => s[k] ?? []))];
  return { read: merge('read'), write: merge('write'), delete: merge('delete') };
}
