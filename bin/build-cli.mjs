#!/usr/bin/env node
// Compile the CLI (cli/main.ts and what it imports from shared/) to dist/cli/ with esbuild, so `voxpipe` starts
// without compiling TypeScript. Run by `npm ci` / `npm install` (the `prepare` script) and before the tests
// (vitest globalSetup), so what the tests run is what ships. npm packages are bundled too; modules imported
// with `import()` become chunks of their own, loaded only by the commands that use them: each command's action
// (cli/commands/<cmd>-action.ts, with the pipeline, zod, openai, ajv, yaml, pino) and the AWS SDK (`backfill
// s3://`, `webhooks replay --bucket`). `voxpipe --help` loads main.js and its static imports only: commander and
// the command definitions (test/unit/cli-startup-graph.test.ts reads dist/cli/metafile.json to keep it so).
//
// The new build is written beside dist/cli and swapped in with two renames, so a CLI starting meanwhile
// finds either the old build, the new one, or none (bin/voxpipe.mjs then runs the sources through tsx).
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
export const CLI_ENTRY = join(dist, 'cli', 'main.js');

export async function buildCli() {
  const tag = `${process.pid}-${Date.now()}`;
  const outdir = join(dist, `cli.new-${tag}`);
  // `import.meta.dirname` in cli/*.ts means the source folder (dashboard.ts finds ../web from it): keep that meaning.
  const cliDir = relative(outdir, join(root, 'cli')).split('\\').join('/');
  const result = await build({
    entryPoints: { main: join(root, 'cli', 'main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Bundled, packages included: one file to read instead of hundreds to resolve (half the start time).
    // esbuild stays external (native binary; the dashboard imports it only to build its assets), and so does
    // onnxruntime-node (native binding, Silero VAD pause finding).
    external: ['esbuild', 'onnxruntime-node'],
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    define: { 'import.meta.dirname': '__voxpipeCliDir' },
    banner: {
      js: [
        `import { fileURLToPath as __voxpipeToPath } from 'node:url';`,
        `import { createRequire as __voxpipeCreateRequire } from 'node:module';`,
        `const __voxpipeCliDir = __voxpipeToPath(new URL('${cliDir}', import.meta.url));`,
        // CommonJS packages inside an ES module bundle still call require() for Node built-ins.
        'const require = __voxpipeCreateRequire(import.meta.url);',
      ].join('\n'),
    },
  });
  for (const input of Object.keys(result.metafile.inputs)) {
    if (input.startsWith('cli/') || input.startsWith('node_modules/')) continue;
    if (readFileSync(join(root, input), 'utf8').includes('import.meta.dirname')) {
      throw new Error(`${input} uses import.meta.dirname: in the CLI bundle it would name cli/; resolve paths another way`);
    }
  }
  // What each output holds and imports: test/unit/cli-startup-graph.test.ts reads it to keep heavy packages off
  // the static import graph of main.js (what `voxpipe --help` loads).
  writeFileSync(join(outdir, 'metafile.json'), JSON.stringify(result.metafile));
  const current = join(dist, 'cli');
  const old = join(dist, `cli.old-${tag}`);
  if (existsSync(current)) renameSync(current, old);
  renameSync(outdir, current);
  // Earlier builds stay a while: a CLI that started on one may still load its lazy chunks.
  for (const name of readdirSync(dist)) {
    const path = join(dist, name);
    if (/^cli\.(old|new)-/.test(name) && Date.now() - statSync(path).mtimeMs > 15 * 60_000) rmSync(path, { recursive: true, force: true });
  }
  return CLI_ENTRY;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
