/**
 * The BlobStore layout of a job. One place, so every runtime reads and writes the same keys.
 *
 * ```
 * jobs/<jobId>/manifest.json          written once by the splitter (cut plan, options, probe)
 * jobs/<jobId>/status.json            lifecycle, overwritten as the job moves on
 * jobs/<jobId>/audio/<index>.flac     chunk audio (expires by lifecycle rule on AWS)
 * jobs/<jobId>/chunks/<index>.json    one result per chunk; its presence means "chunk done"
 * jobs/<jobId>/aggregate.claim        conditional-write token: exactly one aggregation per job
 * results/<jobId>/transcript.<ext>    json, txt, srt, vtt
 * ```
 */

const pad = (index: number) => String(index).padStart(5, '0');

/** Keys of one job. */
export function jobKeys(jobId: string) {
  const root = `jobs/${jobId}/`;
  return {
    root,
    manifest: `${root}manifest.json`,
    status: `${root}status.json`,
    claim: `${root}aggregate.claim`,
    chunksPrefix: `${root}chunks/`,
    chunkAudio: (index: number) => `${root}audio/${pad(index)}.flac`,
    chunkResult: (index: number) => `${root}chunks/${pad(index)}.json`,
    resultsPrefix: `results/${jobId}/`,
    result: (ext: ResultExt) => `results/${jobId}/transcript.${ext}`,
  };
}

/** Result file extensions written by the aggregator. */
export type ResultExt = 'json' | 'txt' | 'srt' | 'vtt';

/** Chunk index from a `jobs/<id>/chunks/<index>.json` key, or undefined for other keys. */
export function chunkIndexOf(key: string): number | undefined {
  const m = /\/chunks\/(\d+)\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}
