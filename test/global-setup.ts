/**
 * Once per `vitest run`: build the CLI bundle that `bin/voxpipe.mjs` runs (the `prepare` script's build), from
 * the working tree, so the tests that start the CLI as a user would (test/e2e/run-cli.ts) run what ships.
 */
// @ts-expect-error: a plain ES module without types (bin/ is JavaScript)
import { buildCli } from '../bin/build-cli.mjs';

export default async function setup(): Promise<void> {
  await buildCli();
}
