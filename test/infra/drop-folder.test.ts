/**
 * The drop folder in the stack: profiles deployed into the splitter's environment, per-profile retention as
 * lifecycle rules, S3 permissions by grant, cdk-nag clean. Synthesized without bundling (the handler bundles
 * are tested in stack.test.ts), so this file stays fast.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { VoxpipeStack } from '../../infra/stacks/voxpipe-stack.js';
import { profilesFromText } from '../../shared/profiles.js';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const PROFILES_YAML = `
version: 1
defaults:
  formats: [json, txt]
profiles:
  meetings:
    language: en
    summary: true
    retentionDays: 30
  radio:
    chunkSeconds: 60
`;

let dir: string;
const synthApp = () => new App({ outdir: join(dir, `out-${Math.random().toString(36).slice(2)}`), context: { 'aws:cdk:bundling-stacks': [] } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxpipe-drop-infra-'));
  writeFileSync(join(dir, 'profiles.yaml'), PROFILES_YAML);
  writeFileSync(join(dir, 'bad.yaml'), 'profiles:\n  meetings:\n    retentionDays: 0\n');
  writeFileSync(join(dir, 'other-model.yaml'), 'profiles:\n  big:\n    model: voxtral-small-latest\n');
  writeFileSync(join(dir, 'env-secret.yaml'), 'profiles:\n  hooks:\n    webhook: { url: "https://h.example.com/x", secretRef: "env:HOOK" }\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stack with a profiles file', () => {
  let app: App;
  let stack: VoxpipeStack;
  let resources: Resources;
  beforeAll(() => {
    // GIVEN the app as `cdk synth -c profilesFile=profiles.yaml` builds it
    const ctx: Record<string, unknown> = { profilesFile: join(dir, 'profiles.yaml') };
    const { jobDeadlineHours: _hours, ...props } = stackPropsFromContext((k) => ctx[k]);
    app = synthApp();
    stack = new VoxpipeStack(app, 'Voxpipe', props);
    resources = Template.fromStack(stack).toJSON().Resources as Resources;
  });

  const fnOf = (construct: { node: { defaultChild?: unknown } }) => resources[stack.getLogicalId(construct.node.defaultChild as any)]!.Properties;

  it('deploys the validated profiles in the splitter’s environment', () => {
    const env = fnOf(stack.splitter.fn).Environment.Variables;
    const deployed = profilesFromText(env.VOXPIPE_PROFILES, 'VOXPIPE_PROFILES.json');
    expect(deployed.profiles.meetings).toEqual({ formats: ['json', 'txt'], language: 'en', summary: true, retentionDays: 30 });
    expect(deployed.profiles.radio).toEqual({ formats: ['json', 'txt'], chunkSeconds: 60 });
  });

  it('expires a profile’s results, processed and failed drops after its retentionDays', () => {
    const bucket = resources[stack.getLogicalId(stack.ingest.bucket.node.defaultChild as any)]!.Properties;
    const rules = bucket.LifecycleConfiguration.Rules as { Prefix?: string; ExpirationInDays?: number; Id?: string }[];
    for (const root of ['results', 'processed', 'failed']) {
      expect(rules).toContainEqual(expect.objectContaining({ Id: `drop-${root}-meetings`, Prefix: `${root}/meetings/`, ExpirationInDays: 30 }));
    }
    expect(rules.some((r) => r.Prefix?.includes('/radio/'))).toBe(false);
  });

  it('lets the splitter and the aggregator read, copy and delete drops through bucket grants', () => {
    const bucketId = stack.getLogicalId(stack.ingest.bucket.node.defaultChild as any);
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy');
    for (const fn of [stack.splitter.fn, stack.aggregator.fn]) {
      const roleId = stack.getLogicalId(fn.role!.node.defaultChild as any);
      const statements = policies
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
      const onObjects = statements.filter((s) => JSON.stringify(s.Resource).includes(bucketId));
      const actions = onObjects.flatMap((s) => [s.Action].flat());
      for (const needed of ['s3:GetObject*', 's3:PutObject', 's3:DeleteObject*']) expect(actions, `${fn.node.path} lacks ${needed}`).toContain(needed);
    }
  });

  it('has no unacknowledged cdk-nag findings', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('profiles file at synth', () => {
  it('fails naming the context value, the file and the field for an invalid profile', () => {
    const ctx: Record<string, unknown> = { profilesFile: join(dir, 'bad.yaml') };
    expect(() => stackPropsFromContext((k) => ctx[k])).toThrow(/-c profilesFile: invalid profiles file .*bad\.yaml:\n\s+profiles\.meetings\.retentionDays/);
  });

  it('fails for a profile file that cannot be read', () => {
    const ctx: Record<string, unknown> = { profilesFile: join(dir, 'missing.yaml') };
    expect(() => stackPropsFromContext((k) => ctx[k])).toThrow(/-c profilesFile: cannot read/);
  });

  it('fails naming the profile that asks for a model the stack does not deploy', () => {
    const ctx: Record<string, unknown> = { profilesFile: join(dir, 'other-model.yaml') };
    const { jobDeadlineHours: _hours, ...props } = stackPropsFromContext((k) => ctx[k]);
    expect(() => new VoxpipeStack(synthApp(), 'Voxpipe', props)).toThrow(/profile "big" asks for mistral voxtral-small-latest/);
  });

  it('fails naming the profile whose webhook secret is not a Secrets Manager name the webhook function may read', () => {
    const ctx: Record<string, unknown> = { profilesFile: join(dir, 'env-secret.yaml') };
    const { jobDeadlineHours: _hours, ...props } = stackPropsFromContext((k) => ctx[k]);
    expect(() => new VoxpipeStack(synthApp(), 'Voxpipe', props)).toThrow(/profile "hooks": webhook\.secretRef on AWS .*voxpipe\/webhooks\//);
  });

  it('fails when the profiles do not fit the splitter’s environment', () => {
    const big = { type: 'object', description: 'x'.repeat(4000) };
    const profiles = profilesFromText(JSON.stringify({ profiles: { a: { extract: big } } }), 'p.json');
    expect(() => new VoxpipeStack(synthApp(), 'Voxpipe', { profiles })).toThrow(/more than the 3072 the splitter's environment holds/);
  });
});
