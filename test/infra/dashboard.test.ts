/**
 * The dashboard in the stack (`-c dashboard=true`), synthesized with a region as the CDK CLI does (template only):
 * private asset bucket behind CloudFront (OAC), security headers, the API paths forwarded uncached to the HTTP API,
 * the dashboard routes on the API function, the session key secret only that function reads, the Origin it
 * checks, and cdk-nag AwsSolutions with no unacknowledged finding.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleWebAssets, DASHBOARD_CSP } from '../../infra/constructs/dashboard.js';
import { VoxpipeStack } from '../../infra/stacks/voxpipe-stack.js';

const outdir = mkdtempSync(join(tmpdir(), 'voxpipe-dashboard-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new VoxpipeStack(app, 'Voxpipe', { dashboard: true, env: { account: '123456789012', region: 'eu-west-1' } });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const [apiFnId, apiFn] = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('ApiHandler')) ?? [];

describe('Dashboard in the stack', () => {
  it('keeps the assets in a private, encrypted, TLS-only bucket read by CloudFront through origin access control', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: Match.objectLike({}),
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('serves the app over HTTPS with security headers and sends the API paths to the HTTP API uncached', () => {
    const dist = template.findResources('AWS::CloudFront::Distribution');
    const config = (Object.values(dist)[0] as any).Properties.DistributionConfig;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.Logging).toMatchObject({ Prefix: 'dashboard-cdn/' });
    const behaviours = Object.fromEntries(config.CacheBehaviors.map((b: any) => [b.PathPattern, b]));
    expect(Object.keys(behaviours).sort()).toEqual(['/jobs', '/jobs/*', '/signin', '/signout', '/ui/api/*']);
    for (const b of Object.values(behaviours) as any[]) {
      expect(b.ViewerProtocolPolicy).toBe('https-only');
      expect(b.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
      expect(b.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // AllViewerExceptHostHeader: cookies, Origin, x-csrf-token
      expect(b.AllowedMethods).toEqual(expect.arrayContaining(['POST', 'PUT', 'DELETE']));
    }
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: { ContentSecurityPolicy: DASHBOARD_CSP, Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          StrictTransportSecurity: Match.objectLike({ Override: true }),
        }),
      },
    });
  });

  it('routes sign-in, sign-out and /ui/api/* to the API function', () => {
    const routes = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map((r) => r.Properties.RouteKey as string);
    expect(routes).toEqual(expect.arrayContaining(['GET /signin', 'POST /signin', 'POST /signout', 'GET /ui/api/{proxy+}', 'POST /ui/api/{proxy+}']));
  });

  it('gives the API function the session key secret (read-only, that secret only) and the distribution as the allowed Origin', () => {
    expect(apiFnId).toBeDefined();
    const env = apiFn?.Properties.Environment.Variables;
    const [secretId] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SecretsManager::Secret' && r.Properties.Description?.includes('dashboard')) ?? [];
    expect(secretId).toBeDefined();
    expect(env.VOXPIPE_SESSION_SECRET_ARN).toEqual({ Ref: secretId });
    expect(JSON.stringify(env.VOXPIPE_DASHBOARD_ORIGINS)).toContain('DomainName');
    // Who may read the secret: only the API function's role, and only GetSecretValue/DescribeSecret on it.
    const readers = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as any[]).filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ Ref: secretId })).map((s) => ({ roles: p.Properties.Roles, actions: s.Action })));
    expect(readers).toHaveLength(1);
    expect([...(readers[0]?.actions ?? [])].sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(JSON.stringify(readers[0]?.roles)).toContain('ApiHandler');
    // Sign-outs: read/write under dashboard-sessions/ only, expired after a day.
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-dashboard-session-revocations', Prefix: 'dashboard-sessions/', ExpirationInDays: 1 })]) },
    });
  });

  it('lets the page PUT uploads to the ingest bucket (CORS for the distribution only)', () => {
    const [bucket] = Object.values(resources).filter((r) => r.Type === 'AWS::S3::Bucket' && r.Properties.CorsConfiguration);
    expect(bucket?.Properties.CorsConfiguration.CorsRules).toEqual([
      expect.objectContaining({ AllowedMethods: ['PUT'], AllowedHeaders: ['content-type'], AllowedOrigins: [expect.objectContaining({ 'Fn::Join': expect.anything() })] }),
    ]);
    expect(JSON.stringify(bucket?.Properties.CorsConfiguration)).toContain('DomainName');
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding and no error', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('is nag-clean without an env too (account and region unresolved, as in a plain `new App()`)', () => {
    const bare = new App({ outdir: join(outdir, 'bare'), context: { 'aws:cdk:bundling-stacks': [] } });
    new VoxpipeStack(bare, 'Voxpipe', { dashboard: true });
    const report = new AwsSolutionsChecks(bare).validateScope(bare);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('deploys index.html, app.js (esbuild bundle of web/) and app.css to the bucket and invalidates them', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', { DistributionPaths: ['/index.html', '/app.js', '/app.css'] });
    const dir = bundleWebAssets();
    try {
      for (const f of ['index.html', 'app.js', 'app.css']) expect(existsSync(join(dir, f))).toBe(true);
      expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain('<script type="module" src="/app.js">');
      expect(readFileSync(join(dir, 'app.js'), 'utf8')).toContain('/ui/api');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
