/** The output format registry: renderers, content types, and no other list of formats in the sources. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentTypeOfFile, formatOf, RESULT_FORMATS, renderFormat, TRANSLATION_FORMATS } from '../../shared/core/formats.js';
import { renderSrt, renderTxt, renderVtt } from '../../shared/core/render.js';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx|mjs|js)$/.test(name) ? [path] : [];
  });
}

describe('output format registry', () => {
  const segments = [
    { start: 0, end: 2.5, text: 'Hello there.' },
    { start: 3, end: 5, text: 'General Kenobi.', speaker: 'SPEAKER_1' },
  ];
  const transcript = { id: 'j', segments };

  it('renders each format with its renderer and content type', () => {
    expect(RESULT_FORMATS).toEqual(['json', 'txt', 'srt', 'vtt']);
    expect(TRANSLATION_FORMATS).toEqual(['txt', 'srt', 'vtt']);
    expect(renderFormat('json', { transcript, segments })).toBe(`${JSON.stringify(transcript, null, 2)}\n`);
    expect(renderFormat('txt', { transcript, segments })).toBe(renderTxt(segments));
    expect(renderFormat('srt', { transcript, segments })).toBe(renderSrt(segments));
    expect(renderFormat('vtt', { transcript, segments })).toBe(renderVtt(segments));
    expect(RESULT_FORMATS.map((f) => formatOf(f).contentType)).toEqual(['application/json', 'text/plain; charset=utf-8', 'application/x-subrip', 'text/vtt']);
    expect(contentTypeOfFile('results/j/summary.md')).toBe('text/markdown; charset=utf-8');
    expect(contentTypeOfFile('results/j/transcript.fr.srt')).toBe('application/x-subrip');
    expect(contentTypeOfFile('results/j/json')).toBe('application/octet-stream');
  });

  it('is the only list of formats in the sources', () => {
    // Two format names side by side in an array, a union, a regex alternation or a brace list.
    const f = '(json|txt|srt|vtt)';
    const list = new RegExp(`['"]${f}['"]\\s*[,|]\\s*['"]${f}['"]|\\(${f}\\|${f}|\\{${f},${f}`);
    const allowed = new Set(['shared/core/format-table.ts']);
    const offenders: string[] = [];
    for (const dir of ['shared', 'cli', 'functions', 'infra', 'web/src', 'bin']) {
      for (const file of sources(join(root, dir))) {
        const rel = relative(root, file).split('\\').join('/');
        if (allowed.has(rel)) continue;
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
          if (list.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
