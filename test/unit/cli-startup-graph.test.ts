/**
 * The regression guard of a fast `voxpipe --help` (issue 10): what Node loads before the first line of help is
 * dist/cli/main.js and the chunks it imports statically. Compiling them is the start-up cost, so they must hold
 * the command definitions (commander and pure data) only; each command's action, and with it the config schema
 * (zod), the provider SDK (openai), ajv, yaml, pino, the AWS SDK, the pipeline and the API, is a lazy
 * `import('./<command>-action.js')`.
 *
 * The check reads the esbuild metafile that bin/build-cli.mjs writes beside the bundle (the vitest global setup
 * builds it first), so it tests the build that ships, not a timing.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'cli');

interface Output {
  readonly bytes: number;
  readonly inputs: Record<string, unknown>;
  readonly imports: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[];
}

/** The outputs of the metafile, by file name (the build writes to a temporary folder, then renames it). */
function outputs(): Map<string, Output> {
  const meta = JSON.parse(readFileSync(join(DIST, 'metafile.json'), 'utf8')) as { outputs: Record<string, Output> };
  return new Map(Object.entries(meta.outputs).map(([path, output]) => [basename(path), output]));
}

/** main.js and every output reachable from it through static `import` statements. */
function staticGraph(all: Map<string, Output>): Set<string> {
  const seen = new Set<string>();
  const queue = ['main.js'];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const output = all.get(name);
    if (!output) throw new Error(`metafile has no output ${name}`);
    for (const imp of output.imports) if (imp.kind === 'import-statement' && !imp.external) queue.push(basename(imp.path));
  }
  return seen;
}

/** The npm package of a bundled input (`node_modules/@aws-sdk/client-s3/dist/x.js` → `@aws-sdk/client-s3`). */
function packageOf(input: string): string | undefined {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const name = parts[at + 1] ?? '';
  return name.startsWith('@') ? `${name}/${parts[at + 2]}` : name;
}

function inputsOf(all: Map<string, Output>, names: Iterable<string>): string[] {
  return [...names].flatMap((name) => Object.keys(all.get(name)?.inputs ?? {}));
}

/** Packages whose compile time `voxpipe --help` must not pay. */
const HEAVY = /^(zod|openai|ajv|ajv-formats|yaml|pino|pino-.*|@aws-sdk\/.*|@smithy\/.*|cli-progress|onnxruntime-node)$/;
/** Sources that pull those packages or the pipeline in. */
const HEAVY_SOURCES = /^(shared\/config\.ts|shared\/profiles\.ts|shared\/api\/|shared\/stages\/|shared\/providers\/|shared\/adapters\/|cli\/local-pipeline\.ts|cli\/dashboard\.ts|cli\/commands\/.*-action\.ts)/;

describe('voxpipe start-up import graph (dist/cli)', () => {
  const all = outputs();
  const graph = staticGraph(all);
  const inputs = inputsOf(all, graph);
  const packages = new Set(inputs.flatMap((i) => packageOf(i) ?? []));

  it('describes the build that ships (metafile and dist/cli/main.js agree)', () => {
    expect(all.get('main.js')?.bytes).toBe(statSync(join(DIST, 'main.js')).size);
  });

  it('main.js and its static imports hold no heavy package', () => {
    expect([...packages].filter((p) => HEAVY.test(p))).toEqual([]);
    // Only the argument parser: any other package on this path is compiled by every `voxpipe --help`.
    expect([...packages].sort()).toEqual(['commander']);
  });

  it('main.js and its static imports hold no action, pipeline, config schema or API code', () => {
    expect(inputs.filter((i) => HEAVY_SOURCES.test(i))).toEqual([]);
    expect(inputs).toEqual(expect.arrayContaining(['cli/main.ts', 'cli/commands/transcribe.ts', 'cli/env-help.ts']));
  });

  it('each command action is a lazy chunk, and the heavy packages are in the lazy part of the bundle', () => {
    const lazy = [...all.keys()].filter((name) => name.endsWith('.js') && !graph.has(name));
    for (const command of ['transcribe', 'watch', 'backfill', 'serve', 'jobs', 'webhooks']) {
      const entry = lazy.find((name) => name.startsWith(`${command}-action-`));
      expect(entry, `${command}-action chunk`).toBeDefined();
      const importedByMain = [...graph].some((name) =>
        all.get(name)?.imports.some((imp) => imp.kind === 'dynamic-import' && basename(imp.path) === entry),
      );
      expect(importedByMain, `${entry} is imported dynamically by the start-up graph`).toBe(true);
    }
    // The guard above would pass vacuously if the metafile named packages differently: they must be found here.
    const lazyPackages = new Set(inputsOf(all, lazy).flatMap((i) => packageOf(i) ?? []));
    for (const pkg of ['zod', 'openai', 'ajv', 'yaml', 'pino']) expect(lazyPackages.has(pkg), pkg).toBe(true);
    expect([...lazyPackages].some((p) => p.startsWith('@aws-sdk/'))).toBe(true);
  });
});
