/**
 * The output format registry's table (derived lists and helpers: `formats.ts`): every result file voxpipe writes
 * for a transcript (`results/<id>/transcript.<ext>`, `<out>/<name>.<ext>`), with its renderer, content type and label. The aggregate stage, the enrichments'
 * translations, transcript revisions, the CLI's `--format` choices and help, `voxpipe serve`, the dashboard's
 * download routes and links, and the profiles schema all derive from this table: a new format is one entry here.
 * Pure (the web dashboard imports it).
 */
import { renderSrt, renderTxt, renderVtt } from './render.js';
import type { Segment, Word } from './types.js';

/** What a renderer gets: the stored transcript document and its timed segments and words. */
export interface RenderInput {
  /** The whole transcript document (what `transcript.json` holds). */
  readonly transcript: unknown;
  readonly segments: readonly Segment[];
  readonly words?: readonly Word[];
}

/** One output format. */
export interface OutputFormat {
  /** Content type of the stored file and of downloads. */
  readonly contentType: string;
  /** Button and help label, e.g. `SRT`. */
  readonly label: string;
  /** The file's text. */
  readonly render: (input: RenderInput) => string;
  /**
   * Also written for each translation of the transcript (`transcript.<lang>.<ext>`): the timed renderings are,
   * the JSON document is not (translations live inside it).
   */
  readonly perTranslation: boolean;
}

/** The formats, in the order they are listed and written. `json` is the transcript document itself. */
export const OUTPUT_FORMATS = {
  json: {
    contentType: 'application/json',
    label: 'JSON',
    render: ({ transcript }) => `${JSON.stringify(transcript, null, 2)}\n`,
    perTranslation: false,
  },
  txt: {
    contentType: 'text/plain; charset=utf-8',
    label: 'TXT',
    render: ({ segments, words }) => renderTxt(segments, words),
    perTranslation: true,
  },
  srt: {
    contentType: 'application/x-subrip',
    label: 'SRT',
    render: ({ segments, words }) => renderSrt(segments, words),
    perTranslation: true,
  },
  vtt: {
    contentType: 'text/vtt',
    label: 'VTT',
    render: ({ segments, words }) => renderVtt(segments, words),
    perTranslation: true,
  },
} as const satisfies Record<string, OutputFormat>;
