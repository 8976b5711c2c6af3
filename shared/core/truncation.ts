/**
 * Truncated input: a file whose container declares a longer duration than the audio that could be decoded
 * (a copy still being written, an interrupted download, a writer that paused longer than `--stable-ms`).
 * The job still transcribes what is there, but its result says so in `warnings`, on every runtime.
 *
 * Tolerance: the decoded audio may fall short of the declared duration by up to max(1 s, 2 %) without a
 * warning. Decoders legitimately end a few frames early (encoder delay and padding, ~50 ms for mp3/aac) and
 * durations estimated from the bitrate (mp3 without a Xing/VBRI header) are approximate; a real truncation
 * (a copy cut off mid-file) misses far more than that.
 */

/** Shortfall below which no warning is given: max(this, TRUNCATION_TOLERANCE_RATIO × declared). */
export const TRUNCATION_TOLERANCE_SECONDS = 1;
export const TRUNCATION_TOLERANCE_RATIO = 0.02;
/** Every truncation warning starts with this, so callers can pick it out of `warnings`. */
export const TRUNCATION_WARNING_PREFIX = 'input truncated';

/** The warning for a decode shorter than the declared duration, or undefined when within the tolerance. */
export function truncationWarning(declaredSeconds: number, decodedSeconds: number): string | undefined {
  if (!Number.isFinite(declaredSeconds) || !Number.isFinite(decodedSeconds) || declaredSeconds <= 0) return undefined;
  const missing = declaredSeconds - decodedSeconds;
  if (missing <= Math.max(TRUNCATION_TOLERANCE_SECONDS, TRUNCATION_TOLERANCE_RATIO * declaredSeconds)) return undefined;
  return `${TRUNCATION_WARNING_PREFIX}: the file declares ${declaredSeconds.toFixed(1)} s of audio but only ${decodedSeconds.toFixed(1)} s could be decoded (${((100 * missing) / declaredSeconds).toFixed(0)} % missing); was it still being written or copied? The transcript covers the decoded part only`;
}

/** The truncation warnings among a result's warnings. */
export function truncationWarnings(warnings: readonly string[] | undefined): string[] {
  return (warnings ?? []).filter((w) => w.startsWith(TRUNCATION_WARNING_PREFIX));
}
