/**
 * `voxpipe watch DIR`: the local drop folder. `DIR/<profile>/<any/path/file.ext>` becomes a job with that
 * profile's settings once the file is stable; results land in `<out>/<profile>/<same/path>/<name>.*` and the
 * source moves to `DIR/processed/…` or `DIR/failed/…` with a `.reason.json` beside it (`finalizeSource`,
 * the same stage the AWS aggregator runs). The directory is polled rather than watched through inotify:
 * polling is what decides "stable" anyway, and it works the same on network mounts and in containers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError } from 'commander';
import pLimit from 'p-limit';
import { createPinoLogger } from '../../shared/adapters/pino-logger.js';
import { type ConfigOverrides, loadConfig, type VoxpipeConfig } from '../../shared/config.js';
import { AlreadyExistsError, ConfigError, errorMessage, NotFoundError } from '../../shared/core/errors.js';
import { jobKeys } from '../../shared/core/keys.js';
import { type DropRef, dropKeys, LOCAL_DROP_ROOTS, parseDropKey, REASON_SUFFIX, SIDECAR_SUFFIX } from '../../shared/core/profile-paths.js';
import type { DropArea, Logger } from '../../shared/ports.js';
import { type JobDefaults, loadProfiles, loadSidecar, type ProfilesConfig, type ResolvedJob, resolveJobOptions } from '../../shared/profiles.js';
import { enrichmentFiles } from '../../shared/stages/enrich.js';
import { finalizeSource } from '../../shared/stages/finalize-source.js';
import { readJson, writeJson } from '../../shared/stages/store-json.js';
import { createLocalPipeline } from '../local-pipeline.js';

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
or "force": true in its sidecar. Exit code with --once: 0 when nothing failed, 1 otherwise, 2 for bad configuration.`,
    )
    .action(watchCommand);
}

interface WatchFlags {
  profiles?: string;
  out: string;
  once: boolean;
  force: boolean;
  stableMs: number;
  intervalMs: number;
  jobs: number;
  workDir?: string;
  verbose: boolean;
}

/** How one dropped file ended, for the summary line. */
interface DropResult {
  readonly path: string;
  readonly status: 'completed' | 'failed' | 'duplicate';
  readonly detail: string;
}

async function watchCommand(dirArg: string, flags: WatchFlags): Promise<void> {
  const dir = resolve(dirArg);
  const profiles = await loadProfiles(flags.profiles ?? defaultProfilesFile(dir));
  const base = loadConfig(process.env, { VOXPIPE_WORK_DIR: flags.workDir });
  const logger = createPinoLogger({ destination: join(base.workDir, 'voxpipe.log'), level: flags.verbose ? 'debug' : 'info' });
  const watcher = createDropWatcher({ dir, out: resolve(flags.out), profiles, base, logger, force: flags.force });
  const limit = pLimit(Math.max(1, flags.jobs));
  const results: DropResult[] = [];
  const report = (r: DropResult) => {
    results.push(r);
    const mark = r.status === 'completed' ? '✔' : r.status === 'duplicate' ? '=' : '✘';
    process.stdout.write(`${mark} ${r.path}: ${r.detail}\n`);
  };

  if (flags.once) {
    const ready = await stableFiles(dir, flags.stableMs);
    await Promise.all(ready.map((path) => limit(async () => report(await watcher.process(path)))));
    const failed = results.filter((r) => r.status === 'failed').length;
    process.stdout.write(`${results.length} file${results.length === 1 ? '' : 's'}: ${results.length - failed} done, ${failed} failed\n`);
    process.exitCode = failed ? 1 : 0;
    return;
  }

  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  process.stdout.write(`watching ${dir} (profiles: ${Object.keys(profiles.profiles).join(', ')}); Ctrl-C to stop\n`);
  const seen = new Map<string, Snapshot>();
  const busy = new Set<string>();
  const running = new Set<Promise<void>>();
  while (!stop.signal.aborted) {
    const now = Date.now();
    for (const [path, snap] of await snapshot(dir)) {
      const before = seen.get(path);
      if (!before || before.size !== snap.size || before.mtimeMs !== snap.mtimeMs) seen.set(path, { ...snap, since: now });
      else if (now - before.since >= flags.stableMs && !busy.has(path)) {
        busy.add(path);
        const job = limit(async () => report(await watcher.process(path))).finally(() => {
          busy.delete(path);
          seen.delete(path);
          running.delete(job);
        });
        running.add(job);
      }
    }
    await sleep(flags.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
  }
  await Promise.all(running);
}

/** The drop folder's logic, separated from polling so `--once` and watch mode share it. */
function createDropWatcher(opts: {
  dir: string;
  out: string;
  profiles: ProfilesConfig;
  base: VoxpipeConfig;
  logger: Logger;
  force: boolean;
}) {
  const { dir, out, profiles, base, logger } = opts;
  const defaults: JobDefaults = { provider: base.provider, model: base.model, chunkSeconds: base.chunkSeconds, timestamps: base.timestamps, language: base.language };
  // One pipeline per distinct transcription config (provider, model, language, chunk length, webhook): the
  // pipeline reads those from its config. They share the work dir's job store.
  const pipelines = new Map<string, ReturnType<typeof createLocalPipeline>>();
  const pipelineFor = (resolved: ResolvedJob): ReturnType<typeof createLocalPipeline> => {
    const o = resolved.options;
    const overrides: ConfigOverrides = {
      VOXPIPE_PROVIDER: o.provider,
      VOXPIPE_MODEL: o.model,
      VOXPIPE_LANGUAGE: o.language,
      VOXPIPE_CHUNK_SECONDS: o.chunkSeconds,
      VOXPIPE_TIMESTAMPS: o.timestamps,
      VOXPIPE_WORK_DIR: base.workDir,
      ...webhookOverrides(resolved.webhook),
    };
    const key = JSON.stringify(overrides);
    let pipeline = pipelines.get(key);
    if (!pipeline) {
      pipeline = createLocalPipeline({ config: loadConfig(process.env, overrides), logger });
      pipelines.set(key, pipeline);
    }
    return pipeline;
  };
  const area = localDropArea(dir, out, base.workDir);

  async function handle(path: string): Promise<DropResult> {
    const drop = parseDropKey(path, LOCAL_DROP_ROOTS);
    if (!drop) return { path, status: 'failed', detail: 'not a drop (expected <profile>/<file>)' };
    const fail = async (reason: string, jobId?: string, results?: readonly (readonly [string, string])[]): Promise<DropResult> => {
      await finalizeSource({ drop, roots: LOCAL_DROP_ROOTS, status: 'failed', reason, jobId, results }, { drop: area, logger });
      return { path, status: 'failed', detail: `failed/${drop.profile}/${drop.path}: ${reason}` };
    };
    const file = join(dir, ...path.split('/'));
    if ((await lstat(file)).isSymbolicLink()) {
      return fail(`${path} is a symbolic link: the drop folder never follows links (copy the file in instead)`);
    }
    const sidecar = join(dir, ...`${path}${SIDECAR_SUFFIX}`.split('/'));
    const sidecarStat = await lstat(sidecar).catch(() => undefined);
    if (sidecarStat && !sidecarStat.isFile()) {
      return fail(`sidecar ${path}${SIDECAR_SUFFIX} is ${sidecarStat.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: it is not read (write the overrides into a plain file)`);
    }
    const profile = profiles.profiles[drop.profile];
    if (!profile) return fail(`unknown profile "${drop.profile}"; the profiles file defines ${Object.keys(profiles.profiles).join(', ')}`);
    let resolved: ResolvedJob;
    let pipeline: ReturnType<typeof createLocalPipeline>;
    try {
      resolved = resolveJobOptions(profile, await loadSidecar(sidecar), defaults);
      pipeline = pipelineFor(resolved);
    } catch (err) {
      if (err instanceof ConfigError) return fail(errorMessage(err));
      throw err;
    }
    const force = opts.force || resolved.force;
    const claim = await claimContent(pipeline, file, drop, resolved, force);
    if (claim.duplicateOf) {
      await finalizeSource(
        { drop, roots: LOCAL_DROP_ROOTS, status: 'duplicate', reason: `same content as ${claim.duplicateOf}, already transcribed with the same options (use --force to run it again)`, duplicateOf: claim.duplicateOf, jobId: claim.jobId, retentionDays: resolved.retentionDays },
        { drop: area, logger },
      );
      return { path, status: 'duplicate', detail: `duplicate of ${claim.duplicateOf}` };
    }
    try {
      const { jobId, transcript } = await pipeline.transcribe(file, dropKeys(drop, LOCAL_DROP_ROOTS).name, {
        words: resolved.options.words,
        diarize: resolved.options.diarize,
        force,
        enrich: { translate: resolved.options.translate, summary: resolved.options.summary, extract: resolved.options.extract },
      });
      const results = await resultFiles(pipeline, jobId, resolved);
      if (transcript.status === 'failed') {
        await pipeline.store.delete(claim.key); // a failed file may be dropped again
        return fail(transcript.error ?? 'failed', jobId, results);
      }
      await finalizeSource({ drop, roots: LOCAL_DROP_ROOTS, status: 'completed', jobId, results, retentionDays: resolved.retentionDays }, { drop: area, logger });
      return { path, status: 'completed', detail: `${results.length} result files, job ${jobId}` };
    } catch (err) {
      await pipeline.store.delete(claim.key);
      logger.error('drop crashed', { path, error: errorMessage(err) });
      return fail(errorMessage(err));
    }
  }

  return {
    /** Run one stable drop to its end; never rejects (a crash fails the drop with its message). */
    async process(path: string): Promise<DropResult> {
      try {
        return await handle(await freeDropName(dir, out, path));
      } catch (err) {
        logger.error('drop crashed', { path, error: errorMessage(err) });
        return { path, status: 'failed', detail: errorMessage(err) };
      }
    },
  };
}

/**
 * Dedup by content: `drop/seen/<hash>.json` in the job store, keyed by the file's sha256 and the job options,
 * written with a conditional put so of two identical drops exactly one runs.
 */
async function claimContent(
  pipeline: ReturnType<typeof createLocalPipeline>,
  file: string,
  drop: DropRef,
  resolved: ResolvedJob,
  force: boolean,
): Promise<{ key: string; duplicateOf?: string; jobId?: string }> {
  const content = createHash('sha256');
  await streamPipeline(createReadStream(file), content);
  const digest = createHash('sha256').update(`${drop.profile}\n${content.digest('hex')}\n`).update(JSON.stringify(resolved.options)).digest('hex').slice(0, 32);
  const key = `drop/seen/${digest}.json`;
  const record = { source: `${drop.profile}/${drop.path}`, claimedAt: new Date().toISOString() };
  if (force) {
    await writeJson(pipeline.store, key, record);
    return { key };
  }
  try {
    await writeJson(pipeline.store, key, record, { ifNoneMatch: '*' });
    return { key };
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  const first = await readJson<{ source: string }>(pipeline.store, key).catch(() => ({ source: 'an earlier drop' }));
  // Our own claim: an earlier run stopped while this file's job ran (it is still in the inbox). Resume it.
  if (first.source === record.source) return { key };
  return { key, duplicateOf: first.source };
}

/** The job's result files to publish: the profile's formats plus enrichment files. */
async function resultFiles(pipeline: ReturnType<typeof createLocalPipeline>, jobId: string, resolved: ResolvedJob): Promise<[string, string][]> {
  const keys = jobKeys(jobId);
  const files: [string, string][] = [];
  for (const ext of resolved.formats) if (await pipeline.store.exists(keys.result(ext))) files.push([keys.result(ext), ext]);
  if (await pipeline.store.exists(keys.result('json'))) {
    const transcript = await readJson<Parameters<typeof enrichmentFiles>[0]>(pipeline.store, keys.result('json'));
    files.push(...enrichmentFiles(transcript, resolved.formats));
  }
  return files;
}

/**
 * The watched directory and the results directory as a `DropArea`, written without following links: every
 * folder on the way to a destination is checked with `lstat` (and created, 0700, when missing), a symbolic
 * link anywhere on the way refuses the write, and files land by `rename` of a temp file, which replaces a
 * name rather than writing through it. A move never overwrites (re-drops get free names first, `freeDropName`).
 */
function localDropArea(dir: string, out: string, workDir: string): DropArea {
  const inDir = (key: string) => join(dir, ...key.split('/'));
  const store = join(workDir, 'store');
  return {
    async move(from, to) {
      // A symbolic link moves as the link itself: rename never follows it.
      await lstat(inDir(from)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new NotFoundError(from, { cause: err });
        throw err;
      });
      const target = await safeTarget(dir, to);
      if (await lstat(target).then(() => true, () => false)) throw new Error(`${to} already exists in ${dir}: not overwritten`);
      await rename(inDir(from), target);
    },
    async put(key, body) {
      await replaceFile(await safeTarget(dir, key), (tmp) => writeFile(tmp, body, { mode: 0o600, flag: 'wx' }));
    },
    async publish(from, to) {
      const target = await safeTarget(out, to);
      // The fs job store keeps keys as paths under <work-dir>/store: a plain file copy.
      try {
        await replaceFile(target, (tmp) => copyFile(join(store, ...from.split('/')), tmp));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(from, { cause: err });
        throw err;
      }
    },
  };
}

/** `root/<rel>` after checking that no folder on the way is a symbolic link (missing folders are created, 0700). */
async function safeTarget(root: string, rel: string): Promise<string> {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new Error(`unsafe path ${rel}`);
  await mkdir(root, { recursive: true }); // the folder the user named; below it nothing is followed
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    let s = await lstat(at).catch(() => undefined);
    if (!s) {
      await mkdir(at, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      s = await lstat(at);
    }
    if (s.isSymbolicLink()) throw new Error(`${relative(root, at) || at} is a symbolic link: voxpipe never writes through links in the drop or results folder`);
    if (!s.isDirectory()) throw new Error(`${relative(root, at) || at} is not a folder`);
  }
  return join(at, parts[parts.length - 1] ?? '');
}

/** Write a sibling temp file, then rename it over `target` (which replaces a link instead of following it). */
async function replaceFile(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(target), `.voxpipe-${randomUUID()}.tmp`);
  try {
    await write(tmp);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * A drop whose name was used before (its `processed|failed/…` copy, reason or results exist) is renamed in
 * the inbox to the first free `<stem>-<n><ext>`, sidecar along, so nothing of the earlier drop is overwritten.
 */
async function freeDropName(dir: string, out: string, path: string): Promise<string> {
  const drop = parseDropKey(path, LOCAL_DROP_ROOTS);
  if (!drop) return path;
  const used = async (candidate: string) => {
    const ref = parseDropKey(candidate, LOCAL_DROP_ROOTS);
    if (!ref) return false;
    const keys = dropKeys(ref, LOCAL_DROP_ROOTS);
    const paths = [
      ...(['processed', 'failed'] as const).flatMap((o) => [inDirOf(dir, keys.moved(o)), inDirOf(dir, keys.reason(o))]),
      inDirOf(out, keys.result('json')),
    ];
    if (candidate !== path) paths.push(inDirOf(dir, candidate), inDirOf(dir, `${candidate}${SIDECAR_SUFFIX}`));
    for (const p of paths) if (await lstat(p).then(() => true, () => false)) return true;
    return false;
  };
  if (!(await used(path))) return path;
  const slash = path.lastIndexOf('/');
  const file = path.slice(slash + 1);
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  const ext = dot > 0 ? file.slice(dot) : '';
  for (let n = 2; ; n++) {
    const candidate = `${path.slice(0, slash + 1)}${stem}-${n}${ext}`;
    if (await used(candidate)) continue;
    const sidecar = inDirOf(dir, `${path}${SIDECAR_SUFFIX}`);
    if (await lstat(sidecar).then(() => true, () => false)) await rename(sidecar, inDirOf(dir, `${candidate}${SIDECAR_SUFFIX}`));
    await rename(inDirOf(dir, path), inDirOf(dir, candidate));
    return candidate;
  }
}

const inDirOf = (root: string, key: string) => join(root, ...key.split('/'));

/** Locally a webhook secret comes from the environment: `secretRef: env:NAME`. */
function webhookOverrides(webhook: ResolvedJob['webhook']): ConfigOverrides {
  if (!webhook) return {};
  const m = /^env:(.+)$/.exec(webhook.secretRef);
  if (!m) throw new ConfigError(`webhook.secretRef ${webhook.secretRef}: locally the secret comes from an environment variable; use env:NAME`);
  const secret = process.env[m[1]!];
  if (!secret) throw new ConfigError(`webhook.secretRef ${webhook.secretRef}: environment variable ${m[1]} is not set`);
  return { VOXPIPE_WEBHOOK_URL: webhook.url, VOXPIPE_WEBHOOK_SECRET: secret };
}

interface Snapshot {
  readonly size: number;
  readonly mtimeMs: number;
  readonly since: number;
}

/** Candidate drops (paths relative to `dir`, `/`-separated) with size and mtime. */
async function snapshot(dir: string): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    // Symbolic links are taken too, to be refused with a reason (never followed).
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const abs = join(entry.parentPath, entry.name);
    const rel = relative(dir, abs).split(sep).join('/');
    // Hidden files are partial downloads or editor temp files; sidecars and reasons are not audio.
    if (rel.split('/').some((part) => part.startsWith('.')) || rel.endsWith(REASON_SUFFIX) || !parseDropKey(rel, LOCAL_DROP_ROOTS)) continue;
    const s = await lstat(abs).catch(() => undefined);
    if (s) out.set(rel, { size: s.size, mtimeMs: s.mtimeMs, since: 0 });
  }
  return out;
}

/** Files present now whose size and mtime did not change over `stableMs`. */
async function stableFiles(dir: string, stableMs: number): Promise<string[]> {
  const first = await snapshot(dir);
  await sleep(stableMs);
  const second = await snapshot(dir);
  return [...second].filter(([path, s]) => first.get(path)?.size === s.size && first.get(path)?.mtimeMs === s.mtimeMs).map(([path]) => path).sort();
}

function defaultProfilesFile(dir: string): string {
  const found = ['profiles.yaml', 'profiles.yml', 'profiles.json'].map((f) => join(dir, f)).find((p) => existsSync(p));
  if (!found) throw new ConfigError(`no profiles file: pass --profiles <file> or create ${join(dir, 'profiles.yaml')} (see README, "Drop folder")`);
  return found;
}

function toInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${value}"`);
  return n;
}
