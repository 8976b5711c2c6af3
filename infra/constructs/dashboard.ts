/**
 * The web dashboard on AWS: the static app (web/, bundled with esbuild at synth time) in a private bucket behind
 * CloudFront (origin access control), and the job API Lambda on the same CloudFront origin, so the app calls the
 * API same-origin (no CORS) and the session cookie is first-party.
 *
 * - CloudFront: `/jobs*`, `/ui/api/*`, `/signin`, `/signout` go uncached to the HTTP API with every viewer header
 *   but Host (cookies, Origin, the CSRF header); everything else is the bucket (`index.html`, `app.js`, `app.css`).
 * - Sign-in (shared/dashboard, the same code as `voxpipe serve`): `POST /signin` with an API key sets a stateless,
 *   HMAC-signed session cookie (HttpOnly, Secure, SameSite=Strict, 12 h, tenant inside, bound to the key). The
 *   HMAC key is derived from a Secrets Manager secret of this construct (generated at deploy; only the API
 *   function may read it). State changes need the CSRF header and an `Origin` equal to the distribution's.
 * - Sign-out writes `dashboard-sessions/revoked/<id>` to the ingest bucket (expired by a lifecycle rule after a day).
 * Off by default (`-c dashboard=true`).
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { type HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
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
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, HttpMethods, type IBucket } from 'aws-cdk-lib/aws-s3';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { buildSync } from 'esbuild';
import { Construct } from 'constructs';
import { DASHBOARD_SESSIONS_PREFIX, everyObjectUnder as under } from '../../shared/core/keys.js';
import { DASHBOARD_CSP } from '../../shared/dashboard/routes.js';
import { grantBucketAccess } from './bucket-access.js';

export interface DashboardProps {
  /** The job API the app talks to: its HTTP API and its function (which gets the dashboard routes). */
  readonly api: { readonly httpApi: HttpApi; readonly fn: LambdaFunction };
  /** The ingest bucket (sign-outs are recorded under `dashboard-sessions/`). */
  readonly bucket: Bucket;
  /** Where CloudFront and S3 access logs go. @default no access logs */
  readonly logBucket?: IBucket;
}

const WEB_DIR = join(import.meta.dirname, '..', '..', 'web');

/** The content security policy of the app (the Lambda's sign-in page sends the same). */
export { DASHBOARD_CSP };

export class Dashboard extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** The secret the session cookies' HMAC key is derived from. */
  readonly sessionSecret: Secret;

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
        // same-origin, not no-referrer: with no-referrer the sign-out form's POST carries `Origin: null`.
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.SAME_ORIGIN, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    // execute-api domain of the HTTP API: https://<id>.execute-api.<region>.amazonaws.com → host part.
    const apiDomain = Fn.select(2, Fn.split('/', props.api.httpApi.apiEndpoint));
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
      // The job API, and the dashboard routes of the same function (sign-in, sign-out, the app's API).
      additionalBehaviors: { '/jobs': apiBehavior, '/jobs/*': apiBehavior, '/ui/api/*': apiBehavior, '/signin': apiBehavior, '/signout': apiBehavior },
      ...(props.logBucket ? { enableLogging: true, logBucket: props.logBucket, logFilePrefix: 'dashboard-cdn/' } : {}),
    });
    new BucketDeployment(this, 'Deploy', {
      sources: [Source.asset(bundleWebAssets())],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/app.js', '/app.css'],
      logGroup: new LogGroup(this, 'DeployLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    });
    this.acknowledgeFindings();

    // The dashboard routes on the HTTP API (the job API's function answers them).
    const integration = new HttpLambdaIntegration('Dashboard', props.api.fn);
    props.api.httpApi.addRoutes({ path: '/signin', methods: [HttpMethod.GET, HttpMethod.POST], integration });
    props.api.httpApi.addRoutes({ path: '/signout', methods: [HttpMethod.POST], integration });
    props.api.httpApi.addRoutes({ path: '/ui/api/{proxy+}', methods: [HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST], integration });

    // Session cookies: HMAC key from a generated secret only the API function reads; the Origin the CSRF check expects.
    this.sessionSecret = new Secret(this, 'SessionKey', {
      description: 'voxpipe dashboard: the key session cookies are signed with (put a new random value to end every session)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.sessionSecret.grantRead(props.api.fn);
    Validations.of(this.sessionSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An HMAC key for session cookies, not a credential of another system: rotating is putting a new random value (every session ends; users sign in again). No rotation Lambda is needed; see infra/README.md "Dashboard".',
    });
    props.api.fn.addEnvironment('VOXPIPE_SESSION_SECRET_ARN', this.sessionSecret.secretArn);
    props.api.fn.addEnvironment('VOXPIPE_DASHBOARD_ORIGINS', `https://${this.distribution.distributionDomainName}`);
    grantBucketAccess(props.bucket, props.api.fn, { read: [under(DASHBOARD_SESSIONS_PREFIX)], write: [under(DASHBOARD_SESSIONS_PREFIX)] });
    props.bucket.addLifecycleRule({ id: 'expire-dashboard-session-revocations', prefix: DASHBOARD_SESSIONS_PREFIX, expiration: Duration.days(1) });
    // Drag-and-drop uploads PUT the file from the page to a presigned URL of the ingest bucket (another origin).
    props.bucket.addCorsRule({
      allowedMethods: [HttpMethods.PUT],
      allowedOrigins: [`https://${this.distribution.distributionDomainName}`],
      allowedHeaders: ['content-type'],
      maxAge: 3600,
    });

    new CfnOutput(this, 'DashboardUrl', { value: `https://${this.distribution.distributionDomainName}/`, description: 'Web dashboard (sign in with an API key)' });
  }

  /** cdk-nag findings of the distribution and of CDK's deployment function, reviewed. */
  private acknowledgeFindings(): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'No geo restriction: a dashboard for the operator\'s own users, wherever they are; every API path needs a session or an API key.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF by default (a web ACL for CloudFront lives in us-east-1 and costs per rule): the API behind it is throttled at the stage and authenticates every request. Attach a web ACL to the distribution if you need one (infra/README.md "Dashboard").',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate, whose viewer TLS policy CloudFront fixes; browsers negotiate TLS 1.2+ anyway. A custom domain with its own certificate can set TLSv1.2_2021.',
      },
    );
    // CDK's singleton deployment function (one per stack) copies the asset zip into the bucket and invalidates it.
    const handler = Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler) return;
    // cdk-nag names an unresolved account or region by its pseudo parameter (a stack synthesized without env).
    const stack = Stack.of(this);
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    Validations.of(handler).acknowledge(
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `CDK's BucketDeployment function: ${action} on the CDK asset bucket (read the asset zip) and the dashboard asset bucket (sync) only.`,
      })),
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${account}-${region}/*]`,
        reason: "CDK's BucketDeployment function reads the web app's asset zip from the CDK bootstrap asset bucket.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*]`,
        reason: "CDK's BucketDeployment function writes index.html, app.js and app.css to the dashboard's own asset bucket (nothing else is in it).",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "CDK's BucketDeployment function creates CloudFront invalidations (cloudfront:CreateInvalidation/GetInvalidation take no resource narrower than the account).",
      },
    );
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
