import type { ResultExt } from '../../shared/core/keys.js';

/** The pipeline options `voxpipe transcribe` and `voxpipe backfill` share, as commander parses them. */
export interface PipelineFlags {
  out: string;
  provider?: string;
  model?: string;
  baseUrl?: string;
  language?: string;
  concurrency?: string;
  chunkSeconds?: string;
  format: ResultExt[];
  workDir?: string;
  progress: boolean;
  verbose: boolean;
}
