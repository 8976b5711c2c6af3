/**
 * shared/core/keys.ts is the one place that knows the store's layout: no other product module (shared/,
 * functions/, cli/, infra/) spells a storage prefix or builds a key by appending to one. The scan reads the
 * TypeScript syntax tree, so comments and help prose that mention `jobs/<id>/…` do not count, while any
 * string, template or regex literal that *starts* with a prefix (`'jobs/'`, `` `results/${id}/…` ``,
 * `/^uploads\//`, an IAM pattern `'tenants/*'`) does, and so does a template or `+` that extends a key root
 * from keys.ts (`` `${jobKeys(id).root}source.claim` ``, `` `${RUNNING_PREFIX}${id}` ``).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const DIRS = ['shared', 'functions', 'cli', 'infra'];
const KEYS_FILE = ['shared', 'core', 'keys.ts'].join(sep);

/** Top-level prefixes of the bucket (and of `<work-dir>/store/`): every key starts with one. */
const STORE_PREFIXES = ['jobs', 'running', 'results', 'uploads', 'api-keys', 'tenants', 'webhooks', 'inbox', 'processed', 'failed', 'dashboard-sessions'];
const PREFIX_AT_START = new RegExp(`^\\^?(${STORE_PREFIXES.join('|')})(\\\\?/)`);

/**
 * What may still spell a prefix outside keys.ts, and why: a literal that is not a storage key (`file` as
 * `relative(ROOT, …)` gives it, `literal` matched against the literal's source text). Empty today: every prefix
 * and key of the product is built in keys.ts, including infra's IAM patterns and notification filters.
 */
const ALLOWED: readonly { readonly file: string; readonly literal: RegExp; readonly reason: string }[] = [];

/** Keys.ts's exported `*_PREFIX` constants (not other modules' `WEBHOOK_SECRET_PREFIX`, `METADATA_PREFIX`, …). */
const KEY_PREFIX_CONSTANTS = [...readFileSync(join(ROOT, KEYS_FILE), 'utf8').matchAll(/export const ([A-Z][A-Z0-9_]*_PREFIX)\b/g)].map((m) => m[1]);
/** An expression that is a key root: one of those constants, or a `root` / `…Prefix` member of a key builder. */
const ROOT_EXPR = new RegExp(`(\\b(${KEY_PREFIX_CONSTANTS.join('|')})|\\.root|\\.[a-z]\\w*Prefix(\\([^)]*\\))?)$`);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .filter((f) => !f.split(sep).some((p) => p === 'node_modules' || p === 'cdk.out'));
}

/** `file:line: literal` for each literal of `file` that spells a storage prefix or extends a key root. */
function offenders(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const report = (node: ts.Node) => {
    const literal = node.getText(src).replace(/\s+/g, ' ').slice(0, 120);
    if (ALLOWED.some((a) => a.file === file && a.literal.test(literal))) return;
    found.push(`${file}:${src.getLineAndCharacterOfPosition(node.getStart(src)).line + 1}: ${literal}`);
  };
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node)) {
      if (PREFIX_AT_START.test(node.text)) report(node);
    } else if (ts.isRegularExpressionLiteral(node)) {
      if (PREFIX_AT_START.test(node.text.slice(1))) report(node);
    } else if (ts.isTemplateExpression(node)) {
      if (node.templateSpans.some((s) => ROOT_EXPR.test(s.expression.getText(src)))) report(node);
    } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const sides = [node.left, node.right];
      if (sides.some((s) => ROOT_EXPR.test(s.getText(src))) && sides.some((s) => ts.isStringLiteralLike(s) || ts.isTemplateExpression(s))) report(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return found;
}

describe('storage keys live in one place (shared/core/keys.ts)', () => {
  const files = DIRS.flatMap(sources);

  it('scans the product source', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(KEY_PREFIX_CONSTANTS).toEqual(expect.arrayContaining(['JOBS_PREFIX', 'RUNNING_PREFIX', 'RESULTS_PREFIX', 'UPLOADS_PREFIX']));
    expect(files).toContain(KEYS_FILE);
  });

  it('no module but shared/core/keys.ts spells a storage prefix or appends to a key root', () => {
    expect(files.filter((f) => f !== KEYS_FILE).flatMap((f) => offenders(f))).toEqual([]);
  });

  it('flags each way of spelling a key, and not prose, HTTP routes or other prefixes', () => {
    // Probe lines write a template placeholder as `#{…}` (a `${` inside a plain string is a lint error).
    const flagged = (line: string) => offenders(join('shared', 'probe.ts'), line.replaceAll('#{', '${')).length > 0;
    for (const bad of [
      "store.list('jobs/')",
      'const k = `results/#{id}/transcript.json`;',
      'const m = /^uploads\\/([a-z0-9-]+)\\//.exec(key);',
      'const k = `#{jobKeys(id).root}source.claim`;',
      'const k = `#{RUNNING_PREFIX}#{id}`;',
      "const k = keys.resultsPrefix + 'summary.md';",
      "grant({ read: ['tenants/*', \"dashboard-sessions/*\"] });",
      "const p = `#{apiKeys.tenantSourcesPrefix(t)}a.mp3`;",
    ]) expect(flagged(bad), bad).toBe(true);
    for (const fine of [
      '// jobs/<id>/status.json is written here',
      '/** `results/<jobId>/` */ const x = 1;',
      "call('GET', `/jobs/#{id}/retry`);",
      'const s = `#{WEBHOOK_SECRET_PREFIX}tenants/#{tenant}`;',
      "new Blob([b], { type: 'audio/flac' });",
      'const k = jobKeys(id).sourceClaim;',
    ]) expect(flagged(fine), fine).toBe(false);
  });

  it('the scan sees what it must: keys.ts itself spells every prefix', () => {
    // If this fails the scan has gone blind (a parser change, a renamed file), and the test above proves nothing.
    const own = offenders(KEYS_FILE).join('\n');
    for (const p of STORE_PREFIXES) expect(own).toMatch(new RegExp(`['\`^]${p}/`));
  });
});
