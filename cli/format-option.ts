/** `--format json,srt`: the result formats of the output format registry (`shared/core/formats.ts`). */
import { InvalidArgumentError } from 'commander';
import { isResultExt, RESULT_FORMATS, type ResultExt } from '../shared/core/formats.js';

/** The default of `--format`: every format. */
export const ALL_FORMATS: readonly ResultExt[] = RESULT_FORMATS;

/** Parse a comma-separated `--format` value; a usage error names the unknown formats and the allowed ones. */
export function parseFormats(value: string): ResultExt[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((f) => !isResultExt(f));
  if (bad.length || list.length === 0) throw new InvalidArgumentError(`unknown format ${bad.join(',')}; allowed: ${RESULT_FORMATS.join(',')}`);
  return list as ResultExt[];
}
