import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Repository root: entries, lock file and tsconfig are resolved from here. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Props shared by every voxpipe handler. */
export interface HandlerProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'bundling' | 'logGroup'> {
  /** Base name of the entry file under `functions/`, e.g. `splitter`. */
  readonly entryName: string;
  /** Service name in structured logs and the metrics dimension. */
  readonly service: string;
  /** Modules esbuild must not bundle (delivered by a layer). @default none */
  readonly externalModules?: string[];
  /** CloudWatch log retention. @default one month */
  readonly logRetention?: RetentionDays;
}

/**
 * A Lambda function built from `functions/<entryName>.ts` with the project's bundling rules:
 * one minified ESM file per handler, AWS SDK bundled (the bundle test imports it outside Lambda,
 * and pinning the SDK we tested beats the runtime's floating copy), local esbuild (no Docker).
 */
export function createHandler(scope: Construct, id: string, props: HandlerProps): NodejsFunction {
  const { entryName, service, externalModules = [], logRetention = RetentionDays.ONE_MONTH, environment, ...rest } = props;
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
  return new NodejsFunction(scope, id, {
    entry: join(projectRoot, 'functions', `${entryName}.ts`),
    handler: 'handler',
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.X86_64,
    memorySize: 512,
    timeout: Duration.seconds(60),
    tracing: Tracing.DISABLED,
    logGroup,
    projectRoot,
    depsLockFilePath: join(projectRoot, 'package-lock.json'),
    ...rest,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: service,
      POWERTOOLS_METRICS_NAMESPACE: 'voxpipe',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      ...environment,
    },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      externalModules,
      forceDockerBundling: false,
      // Some CJS dependencies call require() for node built-ins; ESM output needs a real require.
      banner: "import { createRequire as __voxpipeCreateRequire } from 'node:module'; const require = __voxpipeCreateRequire(import.meta.url);",
    },
  });
}
