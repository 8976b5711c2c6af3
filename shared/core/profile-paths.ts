/**
 * Where a dropped file and everything about it live: the layout itself (roots, `dropKeys`, `parseDropKey`)
 * is part of the store's layout in `keys.ts`; re-exported here with the reason object written beside a
 * moved source.
 */
export {
  type DropOutcome,
  type DropRef,
  type DropRoots,
  dropKeys,
  LOCAL_DROP_ROOTS,
  parseDropKey,
  REASON_SUFFIX,
  S3_DROP_ROOTS,
  SIDECAR_SUFFIX,
} from './keys.js';

/** The reason object written beside a moved source. Stable: users and scripts read it. */
export interface DropReason {
  readonly status: 'completed' | 'failed' | 'duplicate';
  /** Why it failed, or what it duplicates; absent for a plain completion. */
  readonly reason?: string;
  readonly profile: string;
  /** The drop as it was named (`inbox/<profile>/<path>` or the path in the watched directory). */
  readonly source: string;
  readonly jobId?: string;
  /** For a duplicate: the source of the drop that ran the job. */
  readonly duplicateOf?: string;
  /** Result files written for this drop. */
  readonly results: readonly string[];
  readonly finishedAt: string;
  /** From the profile: when results and the moved source may be removed. */
  readonly retentionDays?: number;
  /** Warnings about the input (e.g. `input truncated: …`), as in the result's `warnings`. */
  readonly warnings?: readonly string[];
}
