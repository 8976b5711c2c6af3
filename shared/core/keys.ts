/**
 * The BlobStore layout of a job. One place, so every runtime reads and writes the same keys.
 *
 * ```
 * jobs/<jobId>/manifest.json          written once by the splitter (cut plan, options, probe)
 * jobs/<jobId>/status.json            lifecycle, overwritten as the job moves on
 * jobs/<jobId>/audio/<chunk>.flac     chunk audio (expires by lifecycle rule on AWS)
 * jobs/<jobId>/chunks/<chunk>.json    one result per chunk; its presence means "chunk done"
 * jobs/<jobId>/aggregate.claim        conditional-write token: exactly one aggregation per job
 * running/<jobId>                     present while the job is not finished: the sweeper lists only these
 * results/<jobId>/transcript.<ext>    json, txt, srt, vtt
 * ```
 * `<chunk>` is `<index>-<startMs>-<endMs>`: a result is only ever matched with the chunk it was made for,
 * even when a job is re-split with another plan (another chunk length, a planner change).
 */
import type { ResultExt } from './formats.js';

const pad = (index: number) => String(index).padStart(5, '0');

/** What identifies a chunk in storage: its index and its span, so a result never outlives its plan. */
export interface ChunkRef {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** `00007-840000-962512`: index, then start and end in milliseconds. */
const chunkName = (c: ChunkRef) => `${pad(c.index)}-${Math.round(c.start * 1000)}-${Math.round(c.end * 1000)}`;

/** Index of unfinished jobs: one empty object per job, so finding stuck jobs costs O(running jobs). */
export const RUNNING_PREFIX = 'running/';

/** Keys of one job. */
export function jobKeys(jobId: string) {
  const root = `jobs/${jobId}/`;
  return {
    root,
    manifest: `${root}manifest.json`,
    status: `${root}status.json`,
    claim: `${root}aggregate.claim`,
    running: `${RUNNING_PREFIX}${jobId}`,
    chunksPrefix: `${root}chunks/`,
    chunkAudio: (chunk: ChunkRef) => `${root}audio/${chunkName(chunk)}.flac`,
    chunkResult: (chunk: ChunkRef) => `${root}chunks/${chunkName(chunk)}.json`,
    resultsPrefix: `results/${jobId}/`,
    result: (ext: ResultExt) => `results/${jobId}/transcript.${ext}`,
  };
}

/** Result file extensions written by the aggregator: the output format registry's (`formats.ts`). */
export type { ResultExt } from './formats.js';

/** The chunk a `jobs/<id>/chunks/<index>-<startMs>-<endMs>.json` key names, or undefined for other keys. */
export function chunkRefOf(key: string): ChunkRef | undefined {
  const m = /\/chunks\/(\d+)-(\d+)-(\d+)\.json$/.exec(key);
  return m ? { index: Number(m[1]), start: Number(m[2]) / 1000, end: Number(m[3]) / 1000 } : undefined;
}

/** True when two refs name the same chunk (spans compared at storage resolution, 1 ms). */
export function sameChunk(a: ChunkRef, b: ChunkRef): boolean {
  return chunkName(a) === chunkName(b);
}
