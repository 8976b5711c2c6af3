/**
 * `cdk synth` as a user runs it: the CDK CLI (node_modules/aws-cdk) on cdk.json's app, with a concrete account
 * and region (the CLI always passes a region to the app), into a cloud assembly folder.
 *
 * The CLI is kept off the network: no credentials (so it does not call STS; the account comes from
 * `CDK_DEFAULT_ACCOUNT`), no instance metadata lookups, no telemetry, no notices.
 *
 * Assemblies are cached under `$TMPDIR/voxpipe-artifact/<hash>`, keyed by the context and the content of every
 * file the synth reads (infra/, functions/, shared/, api/, cdk.json, package-lock.json, tsconfig.json): test files
 * of one run share one synth, and a changed source means a new synth. A lock directory serialises writers.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { CfnTemplate, TestEnvironment } from './template.js';

const run = promisify(execFile);
export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const TEST_ENV: TestEnvironment = { account: '123456789012', region: 'eu-west-1', stackName: 'Voxpipe' };

export interface CloudAssembly {
  readonly dir: string;
  readonly template: CfnTemplate;
  /** Seconds the synth took (0 when reused from the cache). */
  readonly seconds: number;
}

/** The environment the CDK CLI runs with: test account/region, no credentials, nothing that reaches a network. */
export function cliEnvironment(env: TestEnvironment = TEST_ENV): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|CDK_)/.test(k)) out[k] = v;
  return {
    ...out,
    AWS_REGION: env.region,
    CDK_DEFAULT_ACCOUNT: env.account,
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_CONFIG_FILE: join(REPO_ROOT, 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(REPO_ROOT, 'no-such-aws-credentials'),
  };
}

/** Run `cdk synth -o <dir> -c k=v …` and return its output. Throws with the CLI's output when synth fails. */
export async function cdkSynth(outdir: string, context: Readonly<Record<string, string>>, extraArgs: readonly string[] = []): Promise<{ stdout: string; stderr: string }> {
  const args = [join(REPO_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet', '--no-notices', '--no-version-reporting', '-o', outdir, ...extraArgs];
  for (const [k, v] of Object.entries(context)) args.push('-c', `${k}=${v}`);
  try {
    return await run(process.execPath, args, { cwd: REPO_ROOT, env: cliEnvironment(), maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`cdk synth ${Object.entries(context).map(([k, v]) => `-c ${k}=${v}`).join(' ')} failed:\n${e.stderr ?? ''}\n${e.stdout ?? ''}`.slice(0, 20_000));
  }
}

/**
 * Run cdk.json's app the way the CDK CLI runs it (`CDK_OUTDIR`, `CDK_CONTEXT_JSON` with cdk.json's context, the
 * `-c` values and the bundling selection, `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`), without bundling the
 * handlers (the template is what is checked), then fail on error annotations as `cdk synth` does.
 * For the many context combinations; one full CLI synth (`synthesizedAssembly`) covers the CLI itself.
 */
export async function synthTemplateOnly(outdir: string, context: Readonly<Record<string, string>>, env: TestEnvironment = TEST_ENV): Promise<CfnTemplate> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { app: string; context?: Record<string, unknown> };
  const [command, ...args] = cdkJson.app.split(' ');
  const contextJson = { ...cdkJson.context, ...context, 'aws:cdk:bundling-stacks': [] };
  try {
    await run(command === 'npx' ? join(REPO_ROOT, 'node_modules', '.bin', args.shift()!) : command!, args, {
      cwd: REPO_ROOT,
      env: { ...cliEnvironment(env), CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(contextJson), CDK_DEFAULT_ACCOUNT: env.account, CDK_DEFAULT_REGION: env.region },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`synth ${Object.entries(context).map(([k, v]) => `-c ${k}=${v}`).join(' ')} failed:\n${e.stderr ?? ''}\n${e.stdout ?? ''}`.slice(0, 20_000));
  }
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts?: Record<string, { metadata?: Record<string, { type: string; data: unknown }[]> }> };
  const errors = Object.values(manifest.artifacts ?? {}).flatMap((a) =>
    Object.entries(a.metadata ?? {}).flatMap(([path, entries]) => entries.filter((m) => m.type === 'aws:cdk:error').map((m) => `${path}: ${String(m.data)}`)),
  );
  if (errors.length) throw new Error(`synth ${JSON.stringify(context)} has errors:\n${errors.join('\n')}`);
  return JSON.parse(readFileSync(join(outdir, `${env.stackName}.template.json`), 'utf8')) as CfnTemplate;
}

/** The synthesized assembly for `context`, from the cache or a fresh `cdk synth`. */
export async function synthesizedAssembly(context: Readonly<Record<string, string>>): Promise<CloudAssembly> {
  const root = join(tmpdir(), 'voxpipe-artifact');
  mkdirSync(root, { recursive: true });
  const dir = join(root, inputHash(context));
  const lock = `${dir}.lock`;
  const done = join(dir, '.complete');
  const load = (seconds: number): CloudAssembly => ({ dir, seconds, template: JSON.parse(readFileSync(join(dir, `${TEST_ENV.stackName}.template.json`), 'utf8')) });
  for (;;) {
    if (existsSync(done)) return load(0);
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is synthesizing the same inputs; a lock older than 10 minutes was abandoned.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (existsSync(done)) return load(0);
    const started = performance.now();
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    await cdkSynth(staging, context);
    writeFileSync(join(staging, '.complete'), '');
    renameSync(staging, dir);
    pruneOld(root, dir);
    return load((performance.now() - started) / 1000);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Drop cached assemblies of older sources (unused for an hour). */
function pruneOld(root: string, keep: string): void {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (path === keep || name.endsWith('.lock')) continue;
    if (Date.now() - statSync(path).mtimeMs > 3600_000) rmSync(path, { recursive: true, force: true });
  }
}

function inputHash(context: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256').update(JSON.stringify({ context, env: TEST_ENV }));
  const walk = (path: string) => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== 'node_modules') walk(join(path, name));
    } else {
      hash.update(relative(REPO_ROOT, path)).update(readFileSync(path));
    }
  };
  for (const p of ['infra', 'functions', 'shared', 'api', 'cdk.json', 'package-lock.json', 'tsconfig.json']) walk(join(REPO_ROOT, p));
  return hash.digest('hex').slice(0, 16);
}
