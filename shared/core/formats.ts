/**
 * The output formats as the rest of voxpipe asks about them: names, per-translation formats, renderers and
 * content types, all derived from the table in `format-table.ts` (add a format there). Pure.
 */
import { type OutputFormat, OUTPUT_FORMATS, type RenderInput } from './format-table.js';

export { type OutputFormat, OUTPUT_FORMATS, type RenderInput } from './format-table.js';

/** A result file extension, e.g. `srt`. */
export type ResultExt = keyof typeof OUTPUT_FORMATS;

/** Every format, in registry order (the default of `--format` and of profiles' `formats`). */
export const RESULT_FORMATS = Object.keys(OUTPUT_FORMATS) as unknown as readonly [ResultExt, ...ResultExt[]];

/** The formats written per translation (`transcript.<lang>.<ext>`), in registry order. */
export const TRANSLATION_FORMATS: readonly ResultExt[] = RESULT_FORMATS.filter((f) => formatOf(f).perTranslation);

/** Whether `ext` is a result format. */
export function isResultExt(ext: string): ext is ResultExt {
  return Object.hasOwn(OUTPUT_FORMATS, ext);
}

/** The registry entry of `ext`. */
export function formatOf(ext: ResultExt): OutputFormat {
  return OUTPUT_FORMATS[ext];
}

/** The file text of `ext` for `input`. */
export function renderFormat(ext: ResultExt, input: RenderInput): string {
  return formatOf(ext).render(input);
}

/** Files voxpipe writes next to the transcript that are not transcript renderings (enrichments). */
const OTHER_CONTENT_TYPES: Readonly<Record<string, string>> = { md: 'text/markdown; charset=utf-8' };

/** Content type of a result file by its name (`x.srt`, `summary.md`, `fr.vtt`); octet-stream when unknown. */
export function contentTypeOfFile(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return 'application/octet-stream';
  const ext = name.slice(dot + 1).toLowerCase();
  if (isResultExt(ext)) return formatOf(ext).contentType;
  return OTHER_CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
