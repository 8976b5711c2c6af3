/**
 * The web dashboard on AWS: the static app (web/, bundled with esbuild at synth time) in a private bucket
 * behind CloudFront (origin access control), and the job API on the same CloudFront origin under `/jobs*`,
 * so the app calls the API same-origin (no CORS, cookies stay first-party).
 *
 * What is deployed and what is not yet (see infra/README.md "Dashboard"):
 * - deployed: assets, HTTPS-only distribution with security headers (CSP, HSTS, nosniff, frame deny),
 *   `/jobs*`, `/ui/api/*`, `/signin`, `/signout` forwarded uncached to the HTTP API with every header but Host;
 * - not yet: the cookie session on AWS. Locally `voxpipe serve` turns a one-time link or an API key into an
 *   HttpOnly SameSite=Strict session (cli/dashboard.ts); the Lambda has no `/signin` and `/ui/api` routes yet,
 *   so on AWS the dashboard is not usable end to end and is not browser-tested. Off by default (`dashboard`).
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnOutput, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  OriginRequestPolicy,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { buildSync } from 'esbuild';
import { Construct } from 'constructs';
import { DASHBOARD_CSP } from '../../shared/dashboard/routes.js';

export interface DashboardProps {
  /** The job API the app talks to. */
  readonly httpApi: HttpApi;
  /** Where CloudFront and S3 access logs go. @default no access logs */
  readonly logBucket?: IBucket;
}

const WEB_DIR = join(import.meta.dirname, '..', '..', 'web');

/** The content security policy of the app (the Lambda's sign-in page sends the same). */
export { DASHBOARD_CSP };

export class Dashboard extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Assets', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      ...(props.logBucket ? { serverAccessLogsBucket: props.logBucket, serverAccessLogsPrefix: 'dashboard-assets/' } : {}),
    });
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: DASHBOARD_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    // execute-api domain of the HTTP API: https://<id>.execute-api.<region>.amazonaws.com → host part.
    const apiDomain = Fn.select(2, Fn.split('/', props.httpApi.apiEndpoint));
    const api = new HttpOrigin(apiDomain);
    const apiBehavior = {
      origin: api,
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'voxpipe dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
      },
      // The job API, and the session routes the app uses (`/signin`, `/signout`, `/ui/api/*`: not in the Lambda yet).
      additionalBehaviors: { '/jobs': apiBehavior, '/jobs/*': apiBehavior, '/ui/api/*': apiBehavior, '/signin': apiBehavior, '/signout': apiBehavior },
      ...(props.logBucket ? { enableLogging: true, logBucket: props.logBucket, logFilePrefix: 'dashboard-cdn/' } : {}),
    });
    new BucketDeployment(this, 'Deploy', {
      sources: [Source.asset(bundleWebAssets())],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/app.js', '/app.css'],
    });
    new CfnOutput(this, 'DashboardUrl', { value: `https://${this.distribution.distributionDomainName}/`, description: 'Web dashboard (sign in with an API key)' });
  }
}

/** web/ bundled for S3: index.html (the app shell), app.js (esbuild), app.css. Returns the directory. */
export function bundleWebAssets(outDir = mkdtempSync(join(tmpdir(), 'voxpipe-web-'))): string {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(WEB_DIR, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    outfile: join(outDir, 'app.js'),
    logLevel: 'silent',
  });
  copyFileSync(join(WEB_DIR, 'app.css'), join(outDir, 'app.css'));
  writeFileSync(
    join(outDir, 'index.html'),
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\n<title>voxpipe</title><link rel="stylesheet" href="/app.css"></head>\n<body><div id="app"><p class="loading">Loading…</p></div><script type="module" src="/app.js"></script></body></html>\n',
  );
  return outDir;
}
