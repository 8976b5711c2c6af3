/**
 * Where a dropped file and everything about it live. One layout for both runtimes; only the roots differ.
 *
 * ```
 * <inbox><profile>/<path>                     the drop (S3: inbox/…; locally: the watched directory)
 * processed/<profile>/<path>                  the source after its job completed (or was a duplicate)
 * failed/<profile>/<path>                     the source after its job failed
 * <status>/<profile>/<path>.reason.json       beside it: what happened (status, reason, job id, results)
 * <results><profile>/<dir>/<name>.<suffix>    result files (S3: results/…; locally: the --out directory)
 * ```
 * `<path>` keeps every folder of the drop, spaces, `+` and unicode as they are; keys are never URL-encoded.
 */
/** A dropped file: its profile and its path below the profile folder. */
export interface DropRef {
  readonly profile: string;
  /** Path below `<profile>/`, `/`-separated, e.g. `2026/q1/board call.mp3`. */
  readonly path: string;
}

/** Roots of the layout: `{ inbox: 'inbox/', results: 'results/' }` on S3, `{ inbox: '', results: '' }` locally. */
export interface DropRoots {
  readonly inbox: string;
  readonly results: string;
}

export const S3_DROP_ROOTS: DropRoots = { inbox: 'inbox/', results: 'results/' };
export const LOCAL_DROP_ROOTS: DropRoots = { inbox: '', results: '' };

/** Where a finished drop goes. */
export type DropOutcome = 'processed' | 'failed';

/** Suffix of a sidecar with per-file overrides (`talk.mp3.voxpipe.json`). */
export const SIDECAR_SUFFIX = '.voxpipe.json';
/** Suffix of the reason object beside a moved source (`talk.mp3.reason.json`). */
export const REASON_SUFFIX = '.reason.json';

/**
 * The drop a key (or a `/`-separated path relative to the watched directory) names, or undefined when it
 * is not one: no profile folder, a folder marker, a sidecar, or a file under `processed/` / `failed/`.
 */
export function parseDropKey(key: string, roots: DropRoots = S3_DROP_ROOTS): DropRef | undefined {
  if (!key.startsWith(roots.inbox) || key.endsWith('/') || key.endsWith(SIDECAR_SUFFIX)) return undefined;
  const rest = key.slice(roots.inbox.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const profile = rest.slice(0, slash);
  const path = rest.slice(slash + 1);
  if (profile === 'processed' || profile === 'failed' || profile === '.' || profile === '..' || !path || path.split('/').some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return { profile, path };
}

/** Every key of one drop's layout. */
export function dropKeys(ref: DropRef, roots: DropRoots = S3_DROP_ROOTS) {
  const slash = ref.path.lastIndexOf('/');
  const dir = slash >= 0 ? ref.path.slice(0, slash + 1) : '';
  const file = ref.path.slice(slash + 1);
  const dot = file.lastIndexOf('.');
  const name = dot > 0 ? file.slice(0, dot) : file;
  const moved = (outcome: DropOutcome) => `${outcome}/${ref.profile}/${ref.path}`;
  return {
    source: `${roots.inbox}${ref.profile}/${ref.path}`,
    sidecar: `${roots.inbox}${ref.profile}/${ref.path}${SIDECAR_SUFFIX}`,
    /** Base name of result files: the file name without its extension. */
    name,
    moved,
    reason: (outcome: DropOutcome) => `${moved(outcome)}${REASON_SUFFIX}`,
    /** A result file: `json`, `srt`, `fr.srt`, `summary.md`, … */
    result: (suffix: string) => `${roots.results}${ref.profile}/${dir}${name}.${suffix}`,
  };
}

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
