/**
 * Two rules of docs/ARCHITECTURE.md that biome's import fences cannot express:
 * - configuration is read at the edge: no module under shared/stages, shared/core, shared/adapters or
 *   shared/providers reads `process.env` (the runtimes parse it through shared/config.ts or
 *   functions/lib/env.ts and pass values in);
 * - one process runner: only shared/adapters/process-runner.ts spawns child processes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Source without comments, so a doc comment that names `process.env` does not count. */
function code(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** `file:line: text` of each line matching `pattern`. */
function offenders(files: readonly string[], pattern: RegExp): string[] {
  return files.flatMap((f) =>
    code(f)
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe('architecture boundaries', () => {
  it('no module under shared/stages, shared/core, shared/adapters or shared/providers reads process.env', () => {
    const files = ['shared/stages', 'shared/core', 'shared/adapters', 'shared/providers'].flatMap(sources);
    expect(files.length).toBeGreaterThan(20);
    expect(offenders(files, /\bprocess\s*\.\s*env\b|\bprocess\s*\[\s*['"`]env['"`]\s*\]|\bimport\.meta\.env\b/)).toEqual([]);
  });

  it('stages read the time only through a Clock (shared/stages/wall-clock.ts is the default)', () => {
    const files = sources('shared/stages').filter((f) => f !== join('shared', 'stages', 'wall-clock.ts'));
    expect(offenders(files, /\bDate\.now\(\)|\bnew Date\(\s*\)|\bperformance\.now\(\)/)).toEqual([]);
  });

  it('only shared/adapters/process-runner.ts starts child processes (shared/, functions/, cli/)', () => {
    const allowed = new Set([
      join('shared', 'adapters', 'process-runner.ts'),
      // Lists the CLI's descendant processes with `ps` inside a signal handler (synchronous; runs no ffmpeg).
      join('cli', 'interrupt.ts'),
    ]);
    const files = ['shared', 'functions', 'cli'].flatMap(sources).filter((f) => !allowed.has(f));
    expect(offenders(files, /['"](node:)?child_process['"]|\bexeca\b|\bspawnSync\b|\bexecSync\b/)).toEqual([]);
  });
});
