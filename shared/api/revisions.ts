/**
 * Corrections of a finished transcript, kept as revisions. The original result is never lost:
 *
 * ```
 * results/<jobId>/transcript.<ext>                the current revision, one file per output format (what downloads and links serve)
 * results/<jobId>/revisions/00000.json            the original result, copied there on the first edit
 * results/<jobId>/revisions/<n>.json              revision n (n ≥ 1): the full transcript after the edit
 * ```
 *
 * Revision n is written with a conditional put (`ifNoneMatch: '*'`), so two editors working from the same
 * revision cannot both win: the second gets a conflict and reloads. Every output format is re-rendered from
 * the new revision with the same renderers the aggregator uses (`core/formats.ts`).
 */
import { z } from 'zod';
import { AlreadyExistsError, NotFoundError, VoxpipeError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import { formatOf, RESULT_FORMATS, renderFormat } from '../core/formats.js';
import type { Transcript, Word } from '../core/types.js';
import type { BlobStore } from '../ports.js';
import { readJsonIfExists } from '../stages/store-json.js';

/** What a revision adds to the result JSON. */
export interface RevisionInfo {
  /** 0 is the pipeline's original. */
  readonly number: number;
  readonly basedOn: number | null;
  readonly editedAt: string;
  /** Tenant (API key) that made the edit. */
  readonly editor?: string;
  readonly changes: TranscriptEdit;
}

/** A transcript as the revision API returns it. */
export type RevisedTranscript = Transcript & { readonly revision?: RevisionInfo };

const Seconds = z.number().finite().min(0).max(7 * 24 * 3600);

/** Body of `POST /jobs/{jobId}/transcript/revisions`. */
export const TranscriptEditBody = z
  .object({
    /** The revision the edit was made against (`revision.number` of what the client loaded; 0 when absent). */
    baseRevision: z.number().int().min(0),
    segments: z
      .array(
        z
          .object({ id: z.number().int().min(0), text: z.string().max(20_000).optional(), start: Seconds.optional(), end: Seconds.optional() })
          .strict(),
      )
      .max(100_000)
      .optional(),
    /** Speaker renames, old label → new label, applied to every segment at once. */
    speakers: z.record(z.string().min(1).max(100), z.string().trim().min(1).max(100)).optional(),
  })
  .strict()
  .refine((b) => (b.segments?.length ?? 0) > 0 || Object.keys(b.speakers ?? {}).length > 0, { message: 'give "segments" or "speakers" to change' });
export type TranscriptEdit = z.output<typeof TranscriptEditBody>;

/** The edit was made against an older revision than the current one (someone else saved first): a 409. */
export class RevisionConflictError extends VoxpipeError {}

/** An edit that does not fit the transcript (unknown segment, end before start): a 400 naming the field. */
export class EditError extends VoxpipeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const revisionKey = (jobId: string, n: number) => jobKeys(jobId).revision(n);

/** The current transcript of a job (latest revision), or undefined when the job has no result yet. */
export async function currentTranscript(store: BlobStore, jobId: string): Promise<RevisedTranscript | undefined> {
  return readJsonIfExists<RevisedTranscript>(store, jobKeys(jobId).result('json'));
}

/** The revision number of a transcript (0 for the pipeline's original). */
export const revisionOf = (t: RevisedTranscript): number => t.revision?.number ?? 0;

/** `transcript` with `edit` applied (pure). Throws `EditError` for an edit that does not fit. */
export function applyEdit(transcript: RevisedTranscript, edit: TranscriptEdit): Transcript['segments'] & { words?: Word[] } {
  const byId = new Map(transcript.segments.map((s, k) => [s.id, k]));
  const segments = transcript.segments.map((s) => ({ ...s }));
  let words = transcript.words ? [...transcript.words] : undefined;
  (edit.segments ?? []).forEach((change, k) => {
    const index = byId.get(change.id);
    if (index === undefined) throw new EditError(`segments.${k}.id`, `no segment ${change.id} in this transcript`);
    const before = segments[index] as (typeof segments)[number];
    const after = { ...before, ...(change.text !== undefined ? { text: change.text.trim() } : {}), ...(change.start !== undefined ? { start: change.start } : {}), ...(change.end !== undefined ? { end: change.end } : {}) };
    // A person corrected the text: it is no longer the model's suspect output.
    if (change.text !== undefined) delete (after as { suspect?: true }).suspect;
    if (!(after.end > after.start)) throw new EditError(`segments.${k}.end`, `segment ${change.id} would end (${after.end} s) before it starts (${after.start} s)`);
    if (after.start > transcript.durationSeconds + 1) throw new EditError(`segments.${k}.start`, `segment ${change.id} would start after the end of the audio (${transcript.durationSeconds} s)`);
    // The words of a changed segment no longer match it: drop them, the renderers then time by characters.
    if (words && (after.text !== before.text || after.start !== before.start || after.end !== before.end)) {
      words = words.filter((w) => {
        const mid = (w.start + w.end) / 2;
        return mid < before.start || mid > before.end;
      });
    }
    segments[index] = after;
  });
  const renames = edit.speakers ?? {};
  for (const s of segments) {
    if (s.speaker !== undefined && renames[s.speaker] !== undefined) s.speaker = renames[s.speaker] as string;
  }
  segments.sort((a, b) => a.start - b.start || a.id - b.id);
  return Object.assign(segments, words ? { words } : {});
}

/**
 * Save `edit` as the next revision of the job's transcript and re-render every output format from it.
 * Throws `NotFoundError` when the job has no transcript, `ConflictError` when `edit.baseRevision` is not the
 * current revision (someone else saved first), `EditError` for an edit that does not fit.
 */
export async function saveRevision(
  store: BlobStore,
  jobId: string,
  edit: TranscriptEdit,
  opts: { readonly now: Date; readonly editor?: string },
): Promise<{ transcript: RevisedTranscript; resultKeys: string[] }> {
  const keys = jobKeys(jobId);
  const current = await currentTranscript(store, jobId);
  if (!current) throw new NotFoundError(keys.result('json'));
  const base = revisionOf(current);
  if (edit.baseRevision !== base) throw new RevisionConflictError(`the transcript is at revision ${base}, the edit was made against ${edit.baseRevision}: reload and edit again`);
  const edited = applyEdit(current, edit);
  const { words, ...rest } = { ...current, words: edited.words };
  const segments = [...edited];
  const transcript: RevisedTranscript = {
    ...rest,
    ...(words ? { words } : {}),
    segments,
    text: segments.map((s) => s.text).filter(Boolean).join(' '),
    revision: { number: base + 1, basedOn: base, editedAt: opts.now.toISOString(), ...(opts.editor ? { editor: opts.editor } : {}), changes: edit },
  };
  if (base === 0 && !(await store.exists(revisionKey(jobId, 0)))) await putJson(store, revisionKey(jobId, 0), current);
  // The revision itself first, conditionally: it decides which of two concurrent edits wins.
  try {
    await putJson(store, revisionKey(jobId, base + 1), transcript, true);
  } catch (err) {
    if (err instanceof AlreadyExistsError) throw new RevisionConflictError(`revision ${base + 1} was saved by someone else first: reload and edit again`);
    throw err;
  }
  const plain = transcript.segments.map(({ id: _id, ...s }) => s);
  // The renderings first, the transcript document last: a reader of transcript.json never sees a revision whose
  // renderings are not written yet.
  const input = { transcript, segments: plain, words };
  for (const ext of [...RESULT_FORMATS.filter((f) => f !== 'json'), 'json' as const]) {
    await store.put(keys.result(ext), renderFormat(ext, input), { contentType: formatOf(ext).contentType });
  }
  return { transcript, resultKeys: RESULT_FORMATS.map((ext) => keys.result(ext)) };
}

async function putJson(store: BlobStore, key: string, value: unknown, exclusive = false): Promise<void> {
  await store.put(key, `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json', ...(exclusive ? { ifNoneMatch: '*' as const } : {}) });
}
