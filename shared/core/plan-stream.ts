import { planChunks } from './plan.js';
import type { Pause, PlannedChunk, PlanOptions } from './types.js';

/** What the pause detector has seen so far while the file is still being decoded. */
export interface AnalysisFrontier {
  /** Seconds of audio decoded so far. */
  readonly seconds: number;
  /** Pauses that have ended. */
  readonly pauses: readonly Pause[];
  /** Start of a silence that has begun but not ended yet, if any. */
  readonly openSilenceStart?: number;
}

/**
 * The chunks of the final plan that are already certain while decoding is still under way, so the
 * splitter can encode and send them before the whole file is analysed.
 *
 * Why a prefix is certain: `planChunks` is greedy and window-local. The chunk that starts at `pos`
 * is decided from the pauses inside `[pos, audioStart + maxSeconds]`, plus the file's end only when
 * that end is within reach (the tail rules). So once decoding is a safe margin past that window, and no
 * silence that began inside the window is still open, later audio cannot change the chunk.
 * `test/unit/plan-stream.test.ts` checks this against the full plan as a property.
 */
export function certainChunks(frontier: AnalysisFrontier, opts: PlanOptions): PlannedChunk[] {
  if (frontier.seconds <= 0) return [];
  const partial = planChunks(frontier.seconds, frontier.pauses, opts).chunks;
  const margin = opts.targetSeconds + opts.overlapSeconds + 1;
  const certain: PlannedChunk[] = [];
  for (const chunk of partial) {
    const windowEnd = chunk.start + opts.maxSeconds;
    if (windowEnd + margin > frontier.seconds) break;
    if (frontier.openSilenceStart !== undefined && frontier.openSilenceStart <= windowEnd + margin) break;
    certain.push(chunk);
  }
  return certain;
}
