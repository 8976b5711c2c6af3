/**
 * One list of configuration variables: `voxpipe --help` is generated from cli/env-help.ts `ENV_VARS`, which must
 * cover every variable of the configuration schema and name exactly the variables of the README's table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { ENV_HELP, ENV_VAR_NAMES } from '../../cli/env-help.js';
import { EnvSchema } from '../../shared/config.js';
import { PROVIDERS } from '../../shared/core/provider-catalog.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The rows of the README's configuration table (`### Configuration`), by first cell. */
function readmeRows(): string[] {
  const start = README.indexOf('### Configuration');
  const end = README.indexOf('\n#', start + 1);
  return README.slice(start, end).split('\n').filter((line) => line.startsWith('| `VOXPIPE_'));
}

/** `VOXPIPE_CHAT_PROVIDER`, `…_MODEL` → VOXPIPE_CHAT_PROVIDER, VOXPIPE_CHAT_MODEL. */
function namesOf(row: string): string[] {
  const first = row.split('|')[1] ?? '';
  const names = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  const prefix = (names[0] ?? '').replace(/_[A-Z]+$/, '');
  return names.map((n) => (n.startsWith('…_') ? `${prefix}${n.slice(1)}` : n));
}

describe('configuration help', () => {
  it('documents every variable of the configuration schema', () => {
    for (const key of Object.keys(EnvSchema.shape)) expect(ENV_VAR_NAMES, key).toContain(key);
  });

  it('names the same variables as the README table', () => {
    const rows = readmeRows();
    expect(rows.length).toBeGreaterThan(10);
    expect([...new Set(rows.flatMap(namesOf))].sort()).toEqual([...new Set(ENV_VAR_NAMES)].sort());
  });

  it('is what `voxpipe --help` and `voxpipe transcribe --help` print', () => {
    const program = buildProgram();
    const transcribe = program.commands.find((c) => c.name() === 'transcribe');
    let top = '';
    let sub = '';
    program.configureOutput({
      writeOut: (s) => {
        top += s;
      },
    });
    transcribe?.configureOutput({
      writeOut: (s) => {
        sub += s;
      },
    });
    program.outputHelp();
    transcribe?.outputHelp();
    for (const name of ENV_VAR_NAMES) {
      expect(top).toContain(name);
      expect(sub).toContain(name);
    }
    expect(sub).toContain(ENV_HELP.trim().split('\n')[0]);
  });

  it('lists every provider in the README row of VOXPIPE_PROVIDER, as the registry has them', () => {
    const row = readmeRows().find((r) => r.startsWith('| `VOXPIPE_PROVIDER`')) ?? '';
    for (const p of PROVIDERS) expect(row).toContain(`\`${p}\``);
  });
});
