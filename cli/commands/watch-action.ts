/**
 * `voxpipe watch DIR`: the local drop folder. `DIR/<profile>/<any/path/file.ext>` becomes a job with that
 * profile's settings once the file is stable; results land in `<out>/<profile>/<same/path>/<name>.*` and the
 * source moves to `DIR/processed/…` or `DIR/failed/…` with a `.reason.json` beside it (`finalizeSource`,
 * the same stage the AWS aggregator runs). The directory is polled rather than watched through inotify:
 * polling is what decides "stable" anyway, and it works the same on network mounts and in containers.
 *
 * The action of the command, loaded with `import()` when it runs; its definition (options, help) is ./watch.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, readdir, rename } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { createFsDropArea } from '../../shared/adapters/fs-drop-area.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createPinoLogger } from '../../shared/adapters/pino-logger.js';
import { type ConfigOverrides, loadConfig, type VoxpipeConfig } from '../../shared/config.js';
import { ConfigError, errorMessage } from '../../shared/core/errors.js';
import { truncationWarnings } from '../../shared/core/truncation.js';
import { jobKeys } from '../../shared/core/keys.js';
import { dropKeys, LOCAL_DROP_ROOTS, parseDropKey, REASON_SUFFIX, SIDECAR_SUFFIX } from '../../shared/core/profile-paths.js';
import type { Logger } from '../../shared/ports.js';
import { type JobDefaults, loadProfiles, loadSidecar, type ProfilesConfig, type ResolvedJob, resolveJobOptions } from '../../shared/profiles.js';
import { type AdmitDropInput, admitDrop, sourceClaimKey } from '../../shared/stages/admit-drop.js';
import { enrichmentFiles } from '../../shared/stages/enrich.js';
import { finalizeSource } from '../../shared/stages/finalize-source.js';
import { readJson } from '../../shared/stages/store-json.js';
import { exitOnInterrupt } from '../interrupt.js';
import { createLocalPipeline } from '../local-pipeline.js';

/** This watcher process, as the owner of the drop claims it writes (`admitDrop`). */
const WATCHER_ID = `watch-${process.pid}-${randomUUID()}`;

/** Options of `voxpipe watch`, as commander parses them. */
export interface WatchFlags {
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
  readonly status: 'completed' | 'failed' | 'duplicate' | 'waiting';
  readonly detail: string;
}

/** `voxpipe watch`: run it (called by ./watch.ts when the command runs). */
export async function watchCommand(dirArg: string, flags: WatchFlags): Promise<void> {
  const dir = resolve(dirArg);
  const profiles = await loadProfiles(flags.profiles ?? defaultProfilesFile(dir));
  const base = loadConfig(process.env, { VOXPIPE_WORK_DIR: flags.workDir });
  const logger = createPinoLogger({ destination: join(base.workDir, 'voxpipe.log'), level: flags.verbose ? 'debug' : 'info' });
  const out = resolve(flags.out);
  if (out === dir) throw new ConfigError(`--out ${flags.out} is the drop folder itself: its results would land in the profile folders and be taken as drops; use a folder outside it or a subfolder such as ${join(flags.out, 'results')}`);
  const watcher = createDropWatcher({ dir, out, profiles, base, logger, force: flags.force });
  // An --out or --work-dir inside the drop folder holds voxpipe's own files: never swept as drops.
  const skip = [out, resolve(base.workDir)].filter((folder) => folder.startsWith(`${dir}${sep}`));
  const limit = pLimit(Math.max(1, flags.jobs));
  const results: DropResult[] = [];
  const waitingShown = new Set<string>();
  const report = (r: DropResult) => {
    if (r.status === 'waiting') {
      // Left in the inbox and taken again later: said once per file.
      if (!waitingShown.has(r.path)) process.stdout.write(`… ${r.path}: ${r.detail}\n`);
      waitingShown.add(r.path);
      return;
    }
    waitingShown.delete(r.path);
    results.push(r);
    const mark = r.status === 'completed' ? '✔' : r.status === 'duplicate' ? '=' : '✘';
    process.stdout.write(`${mark} ${r.path}: ${r.detail}\n`);
  };

  // Ctrl-C / SIGTERM: what ended, what was cut off (left in the inbox: it resumes on the next start), no
  // orphaned ffmpeg/pocketsphinx, exit 130 (cli/interrupt.ts).
  const inFlight = new Set<string>();
  const interrupt = exitOnInterrupt({
    summary: () => {
      const count = (status: DropResult['status']) => results.filter((r) => r.status === status).length;
      return `${results.length + inFlight.size} file${results.length + inFlight.size === 1 ? '' : 's'}: ${count('completed')} completed, ${count('duplicate')} duplicates, ${count('failed')} failed, ${inFlight.size} interrupted (left in ${dir}: resumed on the next start) · results in ${out}`;
    },
  });
  const processTracked = async (path: string) => {
    inFlight.add(path);
    try {
      return await watcher.process(path);
    } finally {
      inFlight.delete(path);
    }
  };

  if (flags.once) {
    let ready = await stableFiles(dir, flags.stableMs, skip);
    // A drop that waited for the same content's job is admitted again once this pass ended (that job has
    // ended then: it becomes a duplicate, or runs if that job failed).
    while (ready.length > 0) {
      const pass = await Promise.all(ready.map((path) => limit(async () => processTracked(path))));
      for (const r of pass) report(r);
      const waiting = pass.filter((r) => r.status === 'waiting').map((r) => r.path);
      ready = waiting.length < ready.length ? waiting : [];
    }
    const failed = results.filter((r) => r.status === 'failed').length;
    const left = waitingShown.size ? `, ${waitingShown.size} left waiting in the inbox` : '';
    process.stdout.write(`${results.length} file${results.length === 1 ? '' : 's'}: ${results.length - failed} done, ${failed} failed${left}\n`);
    process.exitCode = failed ? 1 : 0;
    interrupt.dispose();
    return;
  }

  const stop = new AbortController();
  process.stdout.write(`watching ${dir} (profiles: ${Object.keys(profiles.profiles).join(', ')}); Ctrl-C to stop\n`);
  const seen = new Map<string, Snapshot>();
  const busy = new Set<string>();
  const running = new Set<Promise<void>>();
  while (!stop.signal.aborted) {
    const now = Date.now();
    for (const [path, snap] of await snapshot(dir, skip)) {
      const before = seen.get(path);
      if (!before || before.size !== snap.size || before.mtimeMs !== snap.mtimeMs) seen.set(path, { ...snap, since: now });
      else if (now - before.since >= flags.stableMs && !busy.has(path)) {
        busy.add(path);
        const job = limit(async () => report(await processTracked(path))).finally(() => {
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
  const area = createFsDropArea(dir, out, base.workDir);
  // A drop that waits is admitted again on later scans: hash it once per (path, size, mtime).
  const hashes = new Map<string, string>();
  const contentIdOf = async (file: string, size: number, mtimeMs: number) => {
    const key = `${file}\n${size}\n${mtimeMs}`;
    const known = hashes.get(key);
    if (known) return known;
    const digest = await sha256File(file);
    if (hashes.size > 10_000) hashes.clear();
    hashes.set(key, digest);
    return digest;
  };
  // Drop claims live in the work dir's job store, beside the jobs they name.
  const claims = createFsStore(join(base.workDir, 'store'));

  async function handle(path: string): Promise<DropResult> {
    const drop = parseDropKey(path, LOCAL_DROP_ROOTS);
    if (!drop) return { path, status: 'failed', detail: 'not a drop (expected <profile>/<file>)' };
    const fail = async (reason: string, jobId?: string, results?: readonly (readonly [string, string])[]): Promise<DropResult> => {
      await finalizeSource({ drop, roots: LOCAL_DROP_ROOTS, status: 'failed', reason, jobId, results }, { drop: area, logger });
      return { path, status: 'failed', detail: `${dropKeys(drop, LOCAL_DROP_ROOTS).moved('failed')}: ${reason}` };
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
    const admit = (resolved: AdmitDropInput['resolved'], contentId = '') =>
      admitDrop(
        { drop, roots: LOCAL_DROP_ROOTS, contentId, resolved, instance: `${path}\n${mtimeMs}`, owner: WATCHER_ID },
        // A claim from another watcher process: that process ran its job in-process and is gone.
        { store: claims, area, logger, now: Date.now(), abandoned: (claim) => claim.owner !== WATCHER_ID },
      );
    const { mtimeMs, size } = await lstat(file);
    const profile = profiles.profiles[drop.profile];
    let resolved: ResolvedJob;
    let pipeline: ReturnType<typeof createLocalPipeline>;
    try {
      if (!profile) throw new ConfigError(`unknown profile "${drop.profile}"; the profiles file defines ${Object.keys(profiles.profiles).join(', ')}`);
      resolved = resolveJobOptions(profile, await loadSidecar(sidecar), defaults);
      pipeline = pipelineFor(resolved);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const rejected = errorMessage(err);
      await admit({ rejected });
      return { path, status: 'failed', detail: `${dropKeys(drop, LOCAL_DROP_ROOTS).moved('failed')}: ${rejected}` };
    }
    const force = opts.force || resolved.force;
    const admitted = await admit({ options: resolved.options, force, retentionDays: resolved.retentionDays }, await contentIdOf(file, size, mtimeMs));
    if (admitted.outcome === 'rejected') return { path, status: 'failed', detail: `${dropKeys(drop, LOCAL_DROP_ROOTS).moved('failed')}: ${admitted.reason}` };
    if (admitted.outcome === 'duplicate') return { path, status: 'duplicate', detail: `duplicate of ${admitted.duplicateOf}` };
    if (admitted.outcome === 'wait') return { path, status: 'waiting', detail: `waits for ${admitted.waitingFor} (same content, its job is still running)` };
    // run, resume, in-progress (this process's own claim): the job runs under the drop's job id, so a resumed
    // job continues where it stopped and a rerun or forced run is a new job.
    const jobId = admitted.jobId;
    try {
      const { transcript } = await pipeline.transcribeAs(
        jobId,
        file,
        dropKeys(drop, LOCAL_DROP_ROOTS).name,
        { words: resolved.options.words, diarize: resolved.options.diarize },
        { translate: resolved.options.translate, summary: resolved.options.summary, extract: resolved.options.extract },
      );
      const results = await resultFiles(pipeline, jobId, resolved);
      if (transcript.status === 'failed') return fail(transcript.error ?? 'failed', jobId, results);
      const warnings = truncationWarnings(transcript.warnings);
      await finalizeSource({ drop, roots: LOCAL_DROP_ROOTS, status: 'completed', jobId, results, retentionDays: resolved.retentionDays, warnings }, { drop: area, logger });
      return { path, status: 'completed', detail: [`${results.length} result files, job ${jobId}`, ...warnings.map((w) => `warning: ${w}`)].join('\n  ') };
    } catch (err) {
      // Not the file's fault (a crash of this process's own code): the claim goes, so a later drop runs afresh.
      await claims.delete(sourceClaimKey(jobId));
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

/** SHA-256 of a file's content, the content id of a local drop. */
async function sha256File(file: string): Promise<string> {
  const content = createHash('sha256');
  await streamPipeline(createReadStream(file), content);
  return content.digest('hex');
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

/**
 * Candidate drops (paths relative to `dir`, `/`-separated) with size and mtime. Folders voxpipe writes itself
 * (`skip`: the results and work directories, when they are inside the drop folder) are never drops.
 */
async function snapshot(dir: string, skip: readonly string[] = []): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    // Symbolic links are taken too, to be refused with a reason (never followed).
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const abs = join(entry.parentPath, entry.name);
    if (skip.some((folder) => abs.startsWith(`${folder}${sep}`))) continue;
    const rel = relative(dir, abs).split(sep).join('/');
    // Hidden files are partial downloads or editor temp files; sidecars and reasons are not audio.
    if (rel.split('/').some((part) => part.startsWith('.')) || rel.endsWith(REASON_SUFFIX) || !parseDropKey(rel, LOCAL_DROP_ROOTS)) continue;
    const s = await lstat(abs).catch(() => undefined);
    if (s) out.set(rel, { size: s.size, mtimeMs: s.mtimeMs, since: 0 });
  }
  return out;
}

/** Files present now whose size and mtime did not change over `stableMs`. */
async function stableFiles(dir: string, stableMs: number, skip: readonly string[]): Promise<string[]> {
  const first = await snapshot(dir, skip);
  await sleep(stableMs);
  const second = await snapshot(dir, skip);
  return [...second].filter(([path, s]) => first.get(path)?.size === s.size && first.get(path)?.mtimeMs === s.mtimeMs).map(([path]) => path).sort();
}

function defaultProfilesFile(dir: string): string {
  const found = ['profiles.yaml', 'profiles.yml', 'profiles.json'].map((f) => join(dir, f)).find((p) => existsSync(p));
  if (!found) throw new ConfigError(`no profiles file: pass --profiles <file> or create ${join(dir, 'profiles.yaml')} (see README, "Drop folder")`);
  return found;
}
