/**
 * Issue 11, Low: what expires in the bucket, from the documented context (`-c retentionDays`, `-c resultsExpireDays`,
 * `-c uploadsExpireDays`), synthesized as the CDK CLI does (context parsed by infra/context.ts, a concrete
 * account and region). `jobs/` expires after `retentionDays`; `results/` and `uploads/` are kept unless asked;
 * the job API's records (`tenants/`, where a retry rebuilds `request.json` from) never expire.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { VoxpipeStack } from '../../infra/stacks/voxpipe-stack.js';

const dir = mkdtempSync(join(tmpdir(), 'voxpipe-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Rule {
  readonly Id: string;
  readonly Prefix?: string;
  readonly ExpirationInDays?: number;
  readonly NoncurrentVersionExpiration?: { readonly NoncurrentDays: number };
  readonly Status: string;
}

/** The ingest bucket's lifecycle rules, by id, for `cdk synth -c k=v …` in eu-west-1. */
function rules(ctx: Record<string, string>): Record<string, Rule> {
  const { jobDeadlineHours, ...props } = stackPropsFromContext((k) => ctx[k]);
  const app = new App({ outdir: join(dir, `out-${Math.random().toString(36).slice(2)}`), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new VoxpipeStack(app, 'Voxpipe', { ...props, jobDeadline: Duration.hours(jobDeadlineHours), env: { account: '123456789012', region: 'eu-west-1' } });
  const buckets = Template.fromStack(stack).findResources('AWS::S3::Bucket');
  const ingest = Object.entries(buckets).find(([id]) => id.startsWith('IngestBucket'))?.[1] as { Properties: { LifecycleConfiguration: { Rules: Rule[] } } };
  return Object.fromEntries(ingest.Properties.LifecycleConfiguration.Rules.map((r) => [r.Id, r]));
}

const expiring = (all: Record<string, Rule>) => Object.values(all).filter((r) => r.ExpirationInDays !== undefined).map((r) => [r.Prefix, r.ExpirationInDays]);

describe('bucket lifecycle from context', () => {
  it('defaults: jobs/ after 7 days; results/, uploads/ and tenants/ are kept', () => {
    const all = rules({});
    expect(expiring(all)).toEqual([['jobs/', 7]]);
    expect(all['expire-intermediate-job-state']?.Status).toBe('Enabled');
  });

  it('-c resultsExpireDays and -c uploadsExpireDays add rules on exactly those prefixes (old versions after a day)', () => {
    const all = rules({ retentionDays: '3', resultsExpireDays: '90', uploadsExpireDays: '14' });
    expect(expiring(all).sort()).toEqual([['jobs/', 3], ['results/', 90], ['uploads/', 14]].sort());
    expect(all['expire-results']).toMatchObject({ Prefix: 'results/', ExpirationInDays: 90, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' });
    expect(all['expire-api-uploads']).toMatchObject({ Prefix: 'uploads/', ExpirationInDays: 14, NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
    expect(Object.values(all).some((r) => r.Prefix?.startsWith('tenants'))).toBe(false);
  });

  it('refuses a bad value naming the key', () => {
    expect(() => rules({ resultsExpireDays: '0' })).toThrow(/-c resultsExpireDays/);
    expect(() => rules({ uploadsExpireDays: 'soon' })).toThrow(/-c uploadsExpireDays/);
  });
});
