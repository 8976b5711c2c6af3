/**
 * The dashboard construct, synthesized: private asset bucket behind CloudFront (OAC), security headers,
 * the API paths forwarded uncached to the HTTP API, and the esbuild-bundled app deployed to the bucket.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { bundleWebAssets, DASHBOARD_CSP, Dashboard } from '../../infra/constructs/dashboard.js';

describe('Dashboard construct', () => {
  const app = new App();
  const stack = new Stack(app, 'DashboardTest', { env: { account: '111111111111', region: 'eu-west-1' } });
  const httpApi = new HttpApi(stack, 'Api');
  new Dashboard(stack, 'Dashboard', { httpApi });
  const template = Template.fromStack(stack);

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
    const behaviours = Object.fromEntries(config.CacheBehaviors.map((b: any) => [b.PathPattern, b]));
    expect(Object.keys(behaviours).sort()).toEqual(['/jobs', '/jobs/*', '/signin', '/signout', '/ui/api/*']);
    for (const b of Object.values(behaviours) as any[]) {
      expect(b.ViewerProtocolPolicy).toBe('https-only');
      expect(b.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
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
