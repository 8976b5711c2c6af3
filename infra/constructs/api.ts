import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type Bucket, EventType } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_KEYS_PREFIX, RESULTS_PREFIX, TENANTS_PREFIX, everyObjectUnder as under, UPLOADS_PREFIX } from '../../shared/core/keys.js';
import { access, grantBucketAccess, JOB_STATE } from './bucket-access.js';
import { createHandler } from './handler.js';
import { SplitQueueDestination } from './ingest.js';

export interface ApiProps {
  /** The ingest bucket: job state, API keys (`api-keys/<sha256>.json`), uploads, results. */
  readonly bucket: Bucket;
  /** The splitter's queue: start-job messages, and the S3 notifications of `uploads/`. */
  readonly splitQueue: IQueue;
  /** Lifetime of presigned upload and result links. @default Duration.hours(1) */
  readonly linkTtl?: Duration;
  /** Steady-state requests per second across the API. @default 50 */
  readonly rateLimit?: number;
  /** Burst of requests above the steady rate. @default 100 */
  readonly burstLimit?: number;
  /** Days before uploaded sources under `uploads/` expire (`-c uploadsExpireDays`); undefined keeps them (a retry re-reads the source). @default undefined */
  readonly uploadRetentionDays?: number;
}

/**
 * The job API: an HTTP API (API Gateway v2) with one Lambda integration (`functions/api.ts`, the shared
 * handler in `shared/api/`).
 *
 * Auth: API keys checked by the handler, stored as `sha256(key)` → tenant in the bucket (`api-keys/`), not
 * API Gateway authorizers or IAM: HTTP APIs have no usage-plan keys; IAM (SigV4) would make every client an
 * AWS principal, and a Lambda authorizer would be a second function reading the same objects for every
 * request. Keeping the keys with the job state gives one code path for Lambda and `voxpipe serve`, tenant
 * isolation in the same place as the lookups, and nothing extra to deploy. Keys are 256-bit random, so a
 * plain sha256 is safe at rest; revoking is deleting the object. The stage is throttled.
 *
 * Uploads: `{ upload: true }` returns a presigned PUT to `uploads/<jobId>/<file>`; the bucket notifies the
 * split queue for `uploads/` like for `inbox/`, and the splitter takes the job id from the key. `{ s3Key }`
 * jobs and retries are started by a start-job message on the split queue (no copy of the source).
 */
export class Api extends Construct {
  readonly fn: NodejsFunction;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.fn = createHandler(this, 'Handler', {
      entryName: 'api',
      service: 'voxpipe-api',
      memorySize: 512,
      timeout: Duration.seconds(29),
      environment: {
        VOXPIPE_BUCKET: props.bucket.bucketName,
        VOXPIPE_SPLIT_QUEUE_URL: props.splitQueue.queueUrl,
        VOXPIPE_LINK_TTL_SECONDS: String((props.linkTtl ?? Duration.hours(1)).toSeconds()),
      },
    });
    // Read: keys, records, status, results (presigned GETs are signed with this role). Write: records,
    // request.json, webhook.json, presigned PUTs to uploads/. Delete: the retry reset.
    // The only function that reads api-keys/ and the tenants' records.
    grantBucketAccess(
      props.bucket,
      this.fn,
      access(JOB_STATE, {
        read: [under(API_KEYS_PREFIX), under(TENANTS_PREFIX), under(RESULTS_PREFIX), under(UPLOADS_PREFIX)],
        write: [under(TENANTS_PREFIX), under(UPLOADS_PREFIX), under(RESULTS_PREFIX)],
        delete: [under(TENANTS_PREFIX), under(RESULTS_PREFIX)],
      }),
    );
    props.splitQueue.grantSendMessages(this.fn);
    props.bucket.addEventNotification(EventType.OBJECT_CREATED, new SplitQueueDestination(props.splitQueue), { prefix: UPLOADS_PREFIX });
    if (props.uploadRetentionDays) {
      props.bucket.addLifecycleRule({ id: 'expire-api-uploads', prefix: UPLOADS_PREFIX, expiration: Duration.days(props.uploadRetentionDays), noncurrentVersionExpiration: Duration.days(1) });
    }

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: 'voxpipe-jobs',
      description: 'voxpipe job API (api/openapi.yaml)',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const integration = new HttpLambdaIntegration('Jobs', this.fn);
    this.httpApi.addRoutes({ path: '/jobs', methods: [HttpMethod.GET, HttpMethod.POST], integration });
    this.httpApi.addRoutes({ path: '/jobs/{jobId}', methods: [HttpMethod.GET], integration });
    this.httpApi.addRoutes({ path: '/jobs/{jobId}/retry', methods: [HttpMethod.POST], integration });
    this.httpApi.addRoutes({ path: '/jobs/{jobId}/transcript', methods: [HttpMethod.GET], integration });
    this.httpApi.addRoutes({ path: '/jobs/{jobId}/transcript/revisions', methods: [HttpMethod.POST], integration });

    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'Routes are authorised by the handler: API keys (sha256 at rest in the bucket, one tenant each) checked on every request before any store access; a key of another tenant sees 404. See the Api construct doc.',
    });
    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.apiEndpoint, description: 'Job API base URL (see api/openapi.yaml)' });
  }
}
