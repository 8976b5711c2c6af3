#!/usr/bin/env node
/**
 * The voxpipe CDK app. `npx cdk synth` / `npx cdk deploy -c provider=mistral -c concurrency=32`.
 * Context values are documented in `infra/context.ts`; cdk-nag AwsSolutions runs on every synth.
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.js';
import { VoxpipeStack } from './stacks/voxpipe-stack.js';

const app = new App();
const { jobDeadlineHours, ...props } = stackPropsFromContext((key) => app.node.tryGetContext(key));
new VoxpipeStack(app, 'Voxpipe', {
  ...props,
  jobDeadline: Duration.hours(jobDeadlineHours),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
