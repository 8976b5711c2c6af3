/**
 * `voxpipe webhooks replay <jobId>`: send a job's final event again, with its original `webhook-id`, so a
 * receiver that dedupes on the id treats a replay of something it already has as a duplicate.
 *
 * - Locally (default): each dead-letter record under `<work-dir>/store/webhooks/dead-letter/<jobId>/` is
 *   re-sent with the exact body that was signed before (freshly signed now); a record that gets through is
 *   removed. Without dead-letter records, the final event is rebuilt from the job's stored result.
 * - On AWS (`--bucket` and `--queue-url`): each dead-letter record in the bucket is put back on the webhook
 *   queue as a new delivery chain (attempt 1, full retry schedule); the webhook Lambda sends it to the job's
 *   current target and removes the record once delivered. Without dead letters, the final event is rebuilt
 *   from `results/<jobId>/transcript.json` and queued the same way.
 *
 * This file holds the command's definition only (arguments, options, help), built from pure data. The action
 * and everything it needs (config schema, pipeline, SDKs) live in ./webhooks-action.ts, imported when the command
 * runs: `voxpipe --help` and usage errors never load them (test/unit/cli-startup-graph.test.ts guards it).
 */
import { type Command, Option } from 'commander';
import type { ReplayFlags } from './webhooks-action.js';

/** Register `voxpipe webhooks` on the program. */
export function registerWebhooksCommand(program: Command): void {
  const webhooks = program.command('webhooks').description('Signed job webhooks (see README, "Webhooks")');
  webhooks
    .command('replay')
    .description("Send a job's dead-lettered (or final) webhook event again, with the same webhook-id")
    .argument('<jobId>', 'the job id (printed by transcribe, in the dead-letter record, in the webhook payload)')
    .option('--webhook <url>', 'receiver (VOXPIPE_WEBHOOK_URL; default: the URL in the dead-letter record)')
    .option('--webhook-secret <whsec>', 'Standard Webhooks signing secret, whsec_… (VOXPIPE_WEBHOOK_SECRET)')
    .option('--work-dir <dir>', 'job store of local runs (VOXPIPE_WORK_DIR)')
    .addOption(new Option('--bucket <name>', 'AWS: the stack bucket (BucketName output); requeue its dead letters').env('VOXPIPE_BUCKET'))
    .addOption(new Option('--queue-url <url>', 'AWS: the webhook queue (WebhookQueueUrl output)').env('VOXPIPE_WEBHOOK_QUEUE_URL'))
    .addHelpText(
      'after',
      `
Locally the dead-letter records are <work-dir>/store/webhooks/dead-letter/<jobId>/<webhookId>.json; each is sent
once, signed with the secret, and removed when the receiver answers 2xx. Exit code: 0 when every event was
delivered (or the receiver answered 410 Gone), 1 otherwise, 2 for bad usage.
On AWS (--bucket and --queue-url; credentials from the usual AWS environment) the records of
s3://<bucket>/webhooks/dead-letter/<jobId>/ (else the final event, rebuilt from the job's result) go back on
the webhook queue with a fresh retry schedule.`,
    )
    .action(async (jobId: string, flags: ReplayFlags) => {
      const { replayCommand } = await import('./webhooks-action.js');
      await replayCommand(jobId, flags);
    });
}
