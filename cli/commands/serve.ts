/**
 * `voxpipe serve`: the job API (shared/api, the code the Lambda runs) on 127.0.0.1, over the local store
 * and the embedded pipeline. Uploads and result downloads go through HMAC-signed, expiring `/files/…` URLs
 * that stand in for S3 presigned URLs. `voxpipe api-keys create <tenant>` makes keys (stored hashed).
 *
 * This file holds the command's definition only (arguments, options, help), built from pure data. The action
 * and everything it needs (config schema, pipeline, SDKs) live in ./serve-action.ts, imported when the command
 * runs: `voxpipe --help` and usage errors never load them (test/unit/cli-startup-graph.test.ts guards it).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { PROVIDERS } from '../../shared/core/provider-catalog.js';
import type { ApiKeysCreateFlags, ServeFlags } from './serve-action.js';

/** Add `voxpipe serve` and `voxpipe api-keys create` to the program. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve the job API (same handler code as the AWS Lambda) on 127.0.0.1 over the local store')
    .option('--port <n>', 'port to listen on', parsePort, 8787)
    .option('--host <addr>', 'address to listen on (keep it on loopback unless you mean it)', '127.0.0.1')
    .option('--work-dir <dir>', 'job store and scratch space (VOXPIPE_WORK_DIR)')
    .addOption(new Option('--provider <name>', 'speech-to-text provider (VOXPIPE_PROVIDER)').choices(PROVIDERS))
    .option('--model <id>', 'model id (VOXPIPE_MODEL)')
    .option('--base-url <url>', 'provider API root (VOXPIPE_BASE_URL)')
    .option('--verbose', 'debug logging to <work-dir>/voxpipe.log', false)
    .option('--dashboard-tenant <tenant>', 'tenant whose jobs the one-time dashboard sign-in link shows', 'local')
    .action(async (flags: ServeFlags) => {
      const { serveCommand } = await import('./serve-action.js');
      await serveCommand(flags);
    });

  program
    .command('api-keys')
    .description('Manage job API keys (stored as sha256 hashes with their tenant)')
    .command('create')
    .description('Create an API key for a tenant and print it (it is shown only once)')
    .argument('<tenant>', 'tenant id: lowercase letters, digits, "-" and "_"')
    .option('--name <label>', 'a label to recognise the key by')
    .option('--work-dir <dir>', 'job store (VOXPIPE_WORK_DIR)')
    .action(async (tenant: string, flags: ApiKeysCreateFlags) => {
      const { apiKeysCreateCommand } = await import('./serve-action.js');
      await apiKeysCreateCommand(tenant, flags);
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0–65535');
  return n;
}
