import { CfnOutput, Duration, type RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { Aggregator } from '../constructs/aggregator.js';
import { Api } from '../constructs/api.js';
import { Dashboard } from '../constructs/dashboard.js';
import { Enricher } from '../constructs/enricher.js';
import { FailureHandling } from '../constructs/failure-handling.js';
import { Ingest } from '../constructs/ingest.js';
import { Monitoring } from '../constructs/monitoring.js';
import { Notifications } from '../constructs/notifications.js';
import { SPLITTER_TIMEOUT, Splitter } from '../constructs/splitter.js';
import { TranscriberStage } from '../constructs/transcriber.js';
import { dropProfilePrefixes } from '../../shared/core/keys.js';
import type { ProfilesConfig } from '../../shared/core/profile-schema.js';
import { WEBHOOK_SECRET_PREFIX, WebhookTarget } from '../../shared/core/webhook-target.js';

/**
 * The stack has one transcriber (one provider, one model, one API key): a profile that names another fails
 * synth here, naming the profile, instead of failing every file dropped into it.
 */
function checkProfiles(profiles: ProfilesConfig, provider: string, model: string): ProfilesConfig {
  for (const [name, p] of Object.entries(profiles.profiles)) {
    if ((p.provider && p.provider !== provider) || (p.model && p.model !== model)) {
      throw new Error(
        `profilesFile: profile "${name}" asks for ${p.provider ?? provider} ${p.model ?? model}, but this stack transcribes with ${provider} ${model}; remove provider/model from the profile or deploy another stack with -c provider/-c model`,
      );
    }
    if (p.webhook && !WebhookTarget.safeParse({ url: p.webhook.url, secretName: p.webhook.secretRef }).success) {
      throw new Error(
        `profilesFile: profile "${name}": webhook.secretRef on AWS is the name of a Secrets Manager secret under ${WEBHOOK_SECRET_PREFIX} (the only secrets the webhook function may read), got "${p.webhook.secretRef}"`,
      );
    }
  }
  return profiles;
}
import { Webhooks } from '../constructs/webhooks.js';

export interface VoxpipeStackProps extends StackProps {
  /** Speech-to-text provider id: one of `AWS_PROVIDERS` (shared/core/provider-catalog.ts). @default 'mistral' */
  readonly provider?: string;
  /** Model id at the provider. @default 'voxtral-mini-latest' */
  readonly model?: string;
  /**
   * The provider's API root (`VOXPIPE_BASE_URL` of the transcriber, and of the enricher when it chats with the
   * same provider): a vLLM server for `openai-compatible`, a Mistral regional endpoint. @default the vendor's public endpoint
   */
  readonly baseUrl?: string;
  /** An existing Lambda layer version (bin/ffmpeg, bin/ffprobe) instead of the bundled 2018 build. @default the bundled build (synth warns) */
  readonly ffmpegLayerArn?: string;
  /** A zip (bin/ffmpeg, bin/ffprobe) published as the ffmpeg layer instead of the bundled 2018 build. @default the bundled build */
  readonly ffmpegLayerZip?: string;
  /** The splitter's pause finder (`VOXPIPE_PAUSES`); `energy` deploys no Silero layer. @default 'auto' */
  readonly pauses?: 'auto' | 'silero' | 'energy';
  /** Max concurrent model calls (SQS event source `maxConcurrency`, at least 2). @default 8 */
  readonly concurrency?: number;
  /** Preferred chunk length in seconds. @default 120 */
  readonly chunkSeconds?: number;
  /** Days intermediate job state (`jobs/`) is kept. @default 7 */
  readonly retentionDays?: number;
  /** Days before `results/` expires (current versions; old ones after a day). @default kept */
  readonly resultsExpireDays?: number;
  /** Days before job API uploads under `uploads/` expire. @default kept */
  readonly uploadsExpireDays?: number;
  /** Complete ARN of an existing Secrets Manager secret holding the provider API key. @default a new secret (set its value after deploy) */
  readonly apiKeySecretArn?: string;
  /** Name of an existing secret holding the API key; used when no ARN is given. */
  readonly apiKeySecretName?: string;
  /** Email notified by alarms. @default none */
  readonly alarmEmail?: string;
  /** Deploy the web dashboard (assets bucket + CloudFront in front of the job API). @default false */
  readonly dashboard?: boolean;
  /** A job whose status has not moved for this long is failed by the sweeper. @default Duration.hours(6) */
  readonly jobDeadline?: Duration;
  /** Removal policy of the buckets. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Name of an existing Secrets Manager secret with the `whsec_…` webhook signing key. Setting it turns
   * signed webhooks on (`Webhooks` construct). @default no webhooks
   */
  readonly webhookSecretName?: string;
  /** Stack-wide webhook receiver (https); jobs override it with `jobs/<jobId>/webhook.json`. Needs `webhookSecretName`. @default none */
  readonly webhookUrl?: string;
  /**
   * Deploy the enricher: jobs whose options ask for translations, a summary, an extraction or a question get
   * them after aggregation. Implied by `translate`, `summary` or any `chat*` prop. @default false
   */
  readonly enrich?: boolean;
  /** Languages every inbox/ upload is translated into (drop-folder profiles and the job API choose their own). @default none */
  readonly translate?: readonly string[];
  /** Summarise every inbox/ upload. @default false */
  readonly summary?: boolean;
  /**
   * Words and phrases every job biases recognition towards (Mistral `context_bias`), as `VOXPIPE_VOCABULARY` of the
   * splitter, which writes it into each job's options; a job's own vocabulary (job API, profile) replaces it. @default none
   */
  readonly vocabulary?: readonly string[];
  /** Chat vendor of the enricher. @default the transcription `provider` */
  readonly chatProvider?: string;
  /** Chat model id. @default the vendor's Voxtral chat model */
  readonly chatModel?: string;
  /** Chat API root. @default the vendor's public endpoint */
  readonly chatBaseUrl?: string;
  /** The chat model's context window in tokens. @default 32 768 */
  readonly chatContextTokens?: number;
  /**
   * Name of the secret with the chat API key; required when `chatProvider` differs from `provider` (except a
   * self-hosted `openai-compatible` server without a key). @default the provider key secret
   */
  readonly chatApiKeySecretName?: string;
  /**
   * Drop-folder profiles (`-c profilesFile=profiles.yaml`): `inbox/<profile>/…` runs with the profile's
   * settings, results are copied to `results/<profile>/…` and the source moves to `processed/` or `failed/`.
   * A profile's `retentionDays` becomes lifecycle rules on its `results/`, `processed/` and `failed/` prefixes.
   * @default no drop folder
   */
  readonly profiles?: ProfilesConfig;
}

/** voxpipe on AWS: S3 inbox → splitter → SQS → transcribers → aggregate queue → aggregator → EventBridge. */
export class VoxpipeStack extends Stack {
  readonly ingest: Ingest;
  readonly splitter: Splitter;
  readonly transcriber: TranscriberStage;
  readonly aggregator: Aggregator;
  readonly failures: FailureHandling;
  readonly notifications: Notifications;
  readonly monitoring: Monitoring;
  readonly apiKeySecret: ISecret;
  /** The job API (HTTP API + Lambda, api/openapi.yaml). */
  readonly api: Api;
  /** Present when `webhookSecretName` is set. */
  readonly webhooks?: Webhooks;
  /** Present when enrichments are deployed (`enrich`, `translate`, `summary` or a `chat*` prop). */
  readonly enricher?: Enricher;

  constructor(scope: Construct, id: string, props: VoxpipeStackProps = {}) {
    super(scope, id, props);
    if (props.webhookUrl && !props.webhookSecretName) {
      throw new Error('webhookUrl needs webhookSecretName: the Secrets Manager secret holding the whsec_… signing key');
    }
    const provider = props.provider ?? 'mistral';
    const model = props.model ?? 'voxtral-mini-latest';

    this.apiKeySecret = this.resolveApiKeySecret(props, provider);
    this.notifications = new Notifications(this, 'Notifications');
    const eventBus = this.notifications.eventBus;

    this.ingest = new Ingest(this, 'Ingest', {
      retentionDays: props.retentionDays,
      resultsExpireDays: props.resultsExpireDays,
      splitVisibilityTimeout: Duration.seconds(SPLITTER_TIMEOUT.toSeconds() * 6),
      removalPolicy: props.removalPolicy,
    });
    const bucket = this.ingest.bucket;

    this.aggregator = new Aggregator(this, 'Aggregator', { bucket, eventBus });
    this.transcriber = new TranscriberStage(this, 'Transcriber', {
      bucket,
      aggregateQueue: this.aggregator.queue.queue,
      apiKeySecret: this.apiKeySecret,
      provider,
      model,
      concurrency: props.concurrency,
      baseUrl: props.baseUrl,
    });
    this.splitter = new Splitter(this, 'Splitter', {
      bucket,
      splitQueue: this.ingest.splitQueue,
      workQueue: this.transcriber.workQueue.queue,
      aggregateQueue: this.aggregator.queue.queue,
      eventBus,
      provider,
      model,
      chunkSeconds: props.chunkSeconds,
      concurrency: this.transcriber.maxConcurrency,
      profiles: props.profiles && checkProfiles(props.profiles, provider, model),
      ffmpegLayerArn: props.ffmpegLayerArn,
      ffmpegLayerZip: props.ffmpegLayerZip,
      pauses: props.pauses,
    });
    if (props.profiles) this.addProfileRetention(props.profiles);
    if (props.vocabulary?.length) this.splitter.fn.addEnvironment('VOXPIPE_VOCABULARY', props.vocabulary.join(','));
    this.failures = new FailureHandling(this, 'Failures', {
      bucket,
      eventBus,
      aggregateQueue: this.aggregator.queue.queue,
      provider,
      model,
      deadLetterQueues: [this.ingest.splitQueue, this.transcriber.workQueue, this.aggregator.queue].map((q) => q.deadLetterQueue),
      jobDeadline: props.jobDeadline,
    });
    this.api = new Api(this, 'Api', { bucket, splitQueue: this.ingest.splitQueue.queue, uploadRetentionDays: props.uploadsExpireDays });
    if (props.dashboard) new Dashboard(this, 'Dashboard', { api: this.api, bucket, logBucket: this.ingest.accessLogs });
    this.enricher = this.createEnricher(props, provider);
    this.webhooks = this.createWebhooks(props);
    if (this.webhooks && this.enricher) this.webhooks.addProducer(this.enricher.fn);
    // Transcript corrections (`POST /jobs/{id}/transcript/revisions`) send `job.transcript.edited`.
    if (this.webhooks) this.webhooks.addProducer(this.api.fn);
    this.monitoring = new Monitoring(this, 'Monitoring', {
      queues: {
        Split: this.ingest.splitQueue,
        Work: this.transcriber.workQueue,
        Aggregate: this.aggregator.queue,
        ...(this.webhooks ? { Webhook: this.webhooks.queue } : {}),
        ...(this.enricher ? { Enrich: this.enricher.queue } : {}),
      },
      functions: {
        Splitter: this.splitter.fn,
        Transcriber: this.transcriber.fn,
        Aggregator: this.aggregator.fn,
        DlqConsumer: this.failures.dlqConsumer,
        Sweeper: this.failures.sweeper,
        Api: this.api.fn,
        ...(this.webhooks ? { Webhooks: this.webhooks.fn } : {}),
        ...(this.enricher ? { Enricher: this.enricher.fn } : {}),
      },
      alarmEmail: props.alarmEmail,
    });

    new CfnOutput(this, 'BucketName', {
      value: bucket.bucketName,
      description: props.profiles
        ? 'Upload audio to s3://<bucket>/inbox/<profile>/; results appear under results/<profile>/ and results/<jobId>/'
        : 'Upload audio to s3://<bucket>/inbox/; results appear under results/<jobId>/',
    });
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'ApiKeySecretArn', { value: this.apiKeySecret.secretArn });
    new CfnOutput(this, 'WorkDeadLetterQueueUrl', { value: this.transcriber.workQueue.deadLetterQueue.queueUrl });
    if (this.webhooks) new CfnOutput(this, 'WebhookQueueUrl', { value: this.webhooks.queue.queue.queueUrl });

    this.acknowledgeNagFindings();
  }

  /**
   * The enricher, when enrichments are deployed. The chat key is the provider key secret when the chat vendor
   * is the transcription vendor, else the secret named by `chatApiKeySecretName`; never a plaintext value.
   * Stack defaults (`translate`, `summary`) go to the splitter, which writes them into each inbox/ job's options.
   */
  private createEnricher(props: VoxpipeStackProps, provider: string): Enricher | undefined {
    const chatProvider = props.chatProvider ?? provider;
    const wanted = props.enrich || props.translate?.length || props.summary || props.chatProvider || props.chatModel || props.chatBaseUrl || props.chatApiKeySecretName;
    if (!wanted) return undefined;
    let chatApiKeySecret: ISecret | undefined = this.apiKeySecret;
    if (props.chatApiKeySecretName) chatApiKeySecret = Secret.fromSecretNameV2(this, 'ChatApiKey', props.chatApiKeySecretName);
    else if (chatProvider !== provider) {
      if (chatProvider !== 'openai-compatible') {
        throw new Error(`chatProvider ${chatProvider} is not the transcription provider ${provider}: set chatApiKeySecretName to the secret holding its API key`);
      }
      chatApiKeySecret = undefined; // a self-hosted server without a key
    }
    const enricher = new Enricher(this, 'Enricher', {
      bucket: this.ingest.bucket,
      eventBus: this.notifications.eventBus,
      aggregator: this.aggregator.fn,
      chatProvider,
      chatModel: props.chatModel,
      // The same provider's chat goes to the same server (a vLLM host, a regional endpoint) unless told otherwise.
      chatBaseUrl: props.chatBaseUrl ?? (chatProvider === provider ? props.baseUrl : undefined),
      chatContextTokens: props.chatContextTokens,
      chatApiKeySecret,
    });
    if (props.translate?.length) this.splitter.fn.addEnvironment('VOXPIPE_TRANSLATE', props.translate.join(','));
    if (props.summary) this.splitter.fn.addEnvironment('VOXPIPE_SUMMARY', 'true');
    if (props.chatApiKeySecretName) {
      Validations.of(enricher).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${this.nagSecretArn(props.chatApiKeySecretName)}-??????]`,
        reason: 'The chat API key secret is referenced by name (-c chatApiKeySecretName); Secrets Manager appends a random 6-character suffix, so the grant must match it.',
      });
    }
    return enricher;
  }

  /** Signed webhooks, when a signing secret is configured; every function that raises job events becomes a producer. */
  private createWebhooks(props: VoxpipeStackProps): Webhooks | undefined {
    if (!props.webhookSecretName) return undefined;
    const webhooks = new Webhooks(this, 'Webhooks', {
      bucket: this.ingest.bucket,
      signingSecret: Secret.fromSecretNameV2(this, 'WebhookSecret', props.webhookSecretName),
      defaultUrl: props.webhookUrl,
    });
    for (const fn of [this.splitter.fn, this.aggregator.fn, this.failures.dlqConsumer, this.failures.sweeper]) webhooks.addProducer(fn);
    Validations.of(webhooks).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.nagSecretArn('voxpipe/webhooks/*')}-??????]`,
      reason: 'Per-job webhook signing secrets (webhook.json "secretName") are created per receiver after deploy; the function may read only those under voxpipe/webhooks/.',
    });
    return webhooks;
  }

  /**
   * A secret ARN as cdk-nag prints it in a finding: tokens as `<AWS::Region>`, but the literal region and account
   * when the stack has a concrete `env` (as every `cdk synth`/`deploy` through the CLI does).
   */
  private nagSecretArn(secretName: string): string {
    const literal = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<AWS::${pseudo}>` : v);
    return `arn:${literal(this.partition, 'Partition')}:secretsmanager:${literal(this.region, 'Region')}:${literal(this.account, 'AccountId')}:secret:${secretName}`;
  }

  /** Per profile with `retentionDays`: its results, processed and failed drops expire (current and old versions). */
  private addProfileRetention(profiles: ProfilesConfig): void {
    for (const [name, profile] of Object.entries(profiles.profiles)) {
      if (!profile.retentionDays) continue;
      const { results, processed, failed } = dropProfilePrefixes(name);
      for (const [root, prefix] of Object.entries({ results, processed, failed })) {
        this.ingest.bucket.addLifecycleRule({
          id: `drop-${root}-${name}`,
          prefix,
          expiration: Duration.days(profile.retentionDays),
          noncurrentVersionExpiration: Duration.days(1),
        });
      }
    }
  }

  private resolveApiKeySecret(props: VoxpipeStackProps, provider: string): ISecret {
    if (props.apiKeySecretArn) return Secret.fromSecretCompleteArn(this, 'ApiKey', props.apiKeySecretArn);
    if (props.apiKeySecretName) return Secret.fromSecretNameV2(this, 'ApiKey', props.apiKeySecretName);
    // A random placeholder the operator replaces (`aws secretsmanager put-secret-value`); never the real key in the template.
    const secret = new Secret(this, 'ApiKey', {
      description: `voxpipe ${provider} API key: replace the placeholder value after deploy`,
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A third-party provider API key: it is rotated at the vendor and pasted in; there is no rotation Lambda that could mint one.',
    });
    return secret;
  }

  /**
   * Every cdk-nag AwsSolutions finding that is accepted, with the reason. Findings are acknowledged one by
   * one (`Rule[Finding]`), so a new wildcard or a new kind of finding fails the infra test.
   */
  private acknowledgeNagFindings(): void {
    const ack = (id: string, reason: string) => Validations.of(this).acknowledge({ id, reason });
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only allows writing the function’s own CloudWatch Logs; CDK attaches it to every function role.',
    );
    // Bucket access is per prefix (infra/constructs/bucket-access.ts acknowledges each prefix wildcard where it is
    // granted): a grant on the whole bucket (`<Bucket.Arn>/*`) is a finding again.
    ack('AwsSolutions-L1', 'Functions are pinned to nodejs22.x: the bundles are built and import-tested for Node 22; upgrade deliberately with the toolchain.');
  }
}
