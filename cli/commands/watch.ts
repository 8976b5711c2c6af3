/**
 * `voxpipe watch DIR`: the local drop folder. `DIR/<profile>/<any/path/file.ext>` becomes a job with that
 * profile's settings once the file is stable; results land in `<out>/<profile>/<same/path>/<name>.*` and the
 * source moves to `DIR/processed/…` or `DIR/failed/…` with a `.reason.json` beside it (`finalizeSource`,
 * the same stage the AWS aggregator runs). The directory is polled rather than watched through inotify:
 * polling is what decides "stable" anyway, and it works the same on network mounts and in containers.
 *
 * This file holds the command's definition only (arguments, options, help), built from pure data. The action
 * and everything it needs (config schema, pipeline, SDKs) live in ./watch-action.ts, imported when the command
 * runs: `voxpipe --help` and usage errors never load them (test/unit/cli-startup-graph.test.ts guards it).
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { WatchFlags } from './watch-action.js';

/** Register `voxpipe watch` on the program. */
export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('Watch a drop folder: DIR/<profile>/<path/file> is transcribed with that profile (see README, "Drop folder")')
    .argument('<dir>', 'the drop folder')
    .option('--profiles <file>', 'profiles file, YAML or JSON (default: DIR/profiles.yaml, .yml or .json)')
    .option('-o, --out <dir>', 'results directory: <out>/<profile>/<same/path>/<name>.*', 'results')
    .option('--once', 'process what is there now (once stable), then exit: for cron and tests', false)
    .option('--force', 'run files whose content already ran with the same options', false)
    .option('--stable-ms <ms>', 'a file is taken once its size and mtime are unchanged this long', toInt, 2000)
    .option('--interval-ms <ms>', 'how often the folder is scanned (watch mode)', toInt, 2000)
    .option('--jobs <n>', 'files processed at once', toInt, 4)
    .option('--work-dir <dir>', 'job store and scratch space (VOXPIPE_WORK_DIR)')
    .option('--verbose', 'debug logging to <work-dir>/voxpipe.log', false)
    .addHelpText(
      'after',
      `
Layout:
  DIR/<profile>/<path>/<file>               dropped file (sidecar with overrides: <file>.voxpipe.json)
  <out>/<profile>/<path>/<name>.json|txt|…  results
  DIR/processed/<profile>/<path>/<file>     after completion, with <file>.reason.json beside it
  DIR/failed/<profile>/<path>/<file>        after failure, with <file>.reason.json (status, reason, job id)
The same content dropped twice with the same options runs once (the second is a "duplicate"), unless --force
or "force": true in its sidecar; a copy of content whose job is still running waits in the inbox until it ends,
and a copy of content whose job failed runs again. Exit code with --once: 0 when nothing failed, 1 otherwise,
2 for bad configuration; Ctrl-C: a summary, exit 130 (interrupted drops resume on the next start).`,
    )
    .action(async (dirArg: string, flags: WatchFlags) => {
      const { watchCommand } = await import('./watch-action.js');
      await watchCommand(dirArg, flags);
    });
}

function toInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${value}"`);
  return n;
}
