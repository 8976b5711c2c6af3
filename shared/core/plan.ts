/**
 * Where chunk boundaries are chosen. Pure: probe duration + detected pauses in, cut plan out.
 *
 * Rules, in order of importance:
 * 1. A chunk's audio never exceeds `maxSeconds` (upload / model limit).
 * 2. Cuts fall inside pauses (of at least `minPauseSeconds`), so no word is split.
 * 3. Chunks are close to `targetSeconds`, and longer pauses are preferred (cleaner sentence breaks).
 * Only when rule 1 and 2 conflict (speech runs on for `maxSeconds`) is a `forced` cut made, with a
 * declared overlap so the stitcher can recover the word that the cut went through.
 * With `contextSeconds` (diarized jobs), a chunk after a cut (pause or forced) also hears the end of the chunk
 * before it, so speaker labels can be linked across the cut; the stitcher keeps those words once.
 */
import type { ChunkPlan, CutKind, Pause, PlannedChunk, PlanOptions } from './types.js';

/** Silence kept on each side of a cut inside a pause, so no chunk starts or ends on a clipped sound. */
export const CUT_MARGIN_SECONDS = 0.15;

/** Weight of the pause-length bonus in the cut score; a pause of `LONG_PAUSE_SECONDS` or more earns all of it. */
const PAUSE_BONUS = 0.1;
const LONG_PAUSE_SECONDS = 2;

/** A last chunk shorter than this share of the target is merged into its neighbour when the limit allows. */
const MIN_TAIL_SHARE = 0.25;

/**
 * Cuts `[0, durationSeconds)` into chunks for transcription.
 *
 * Cut choice: for each chunk the planner looks at every usable pause that starts after the current
 * position and reaches into the window `[pos + minStep, audioStart + maxSeconds]`, and picks the lowest
 * cost (see {@link cutCost}): distance from the target length, minus a bonus for long pauses. The cut
 * point is the pause midpoint; in a pause long enough to be its own silent chunk it is
 * `CUT_MARGIN_SECONDS` after the pause start, so the silence becomes a `silent` chunk that is never sent.
 * Both are clamped into the window. With no usable pause in the window and more audio than the limit
 * allows, a `forced` cut is made at the target length, with `overlapSeconds` of audio shared by both sides.
 *
 * Throws `RangeError` for options that cannot produce a plan (the edge parses options; this is the last guard).
 */
export function planChunks(durationSeconds: number, pauses: readonly Pause[], opts: PlanOptions): ChunkPlan {
  assertOptions(opts);
  const duration = Number.isFinite(durationSeconds) ? Math.max(0, durationSeconds) : 0;
  const clean = sanitizePauses(pauses, duration);
  const chunks = duration > 0 ? cutAll(duration, clean, opts).map((c, index) => finish(c, index, clean)) : [];
  return { durationSeconds: duration, options: opts, pauses: clean, chunks };
}

/** Slack between the decoded length and the container's duration, snapped away at the file's edges. */
export const EDGE_SNAP_SECONDS = 0.1;

/**
 * Sorts pauses, clamps them to `[0, duration]`, drops empty ones and merges overlapping or touching ones.
 * Exported because the plan stores the sanitized list and tests check cuts against it.
 */
export function sanitizePauses(pauses: readonly Pause[], duration: number): Pause[] {
  const clamped = pauses
    .filter((p) => Number.isFinite(p.start) && Number.isFinite(p.end))
    .map((p) => ({
      start: Math.max(0, Math.min(p.start, p.end)),
      end: Math.min(duration, Math.max(p.start, p.end)),
    }))
    // Decoders report a file's length a few frames differently from the container (mp3 priming and padding):
    // a pause that ends within EDGE_SNAP_SECONDS of either end of the file runs to that end.
    .map((p) => ({
      start: p.start <= EDGE_SNAP_SECONDS ? 0 : p.start,
      end: duration - p.end <= EDGE_SNAP_SECONDS ? duration : p.end,
    }))
    .filter((p) => p.end > p.start)
    .sort((a, b) => a.start - b.start);
  const merged: Pause[] = [];
  for (const p of clamped) {
    const last = merged.at(-1);
    if (last && p.start <= last.end)
      merged[merged.length - 1] = {
        start: last.start,
        end: Math.max(last.end, p.end),
      };
    else merged.push(p);
  }
  return merged;
}

/** The cost the planner minimises when choosing among pause cuts; exported for tests and tuning. */
export function cutCost(audioLength: number, pauseLength: number, opts: PlanOptions): number {
  const t = opts.targetSeconds;
  // Running short costs a whole extra request; running long only drifts towards the limit, which is allowed.
  const deviation =
    audioLength <= t ? (t - audioLength) / t : (0.5 * (audioLength - t)) / Math.max(opts.maxSeconds - t, 1e-9);
  return deviation - (PAUSE_BONUS * Math.min(pauseLength, LONG_PAUSE_SECONDS)) / LONG_PAUSE_SECONDS;
}

/** Smallest step a cut may advance: keeps chunks from being empty without hiding pauses from the search. */
export function minStepSeconds(opts: PlanOptions): number {
  return Math.min(0.5, opts.targetSeconds / 4);
}

/** A pause at least this long (from the current position) becomes a silent chunk of its own. */
export function silentChunkSeconds(opts: PlanOptions): number {
  return Math.max(2 * opts.minPauseSeconds, opts.targetSeconds / 4, 0.5);
}

interface RawChunk {
  readonly start: number;
  readonly end: number;
  readonly keepFrom: number;
  readonly keepUntil: number;
  readonly startCut: CutKind;
  readonly endCut: CutKind;
}

interface Cut {
  readonly at: number;
  readonly kind: 'pause' | 'forced';
}

function cutAll(duration: number, pauses: readonly Pause[], opts: PlanOptions): RawChunk[] {
  const half = opts.overlapSeconds / 2;
  const chunks: RawChunk[] = [];
  let pos = 0;
  let startCut: CutKind = 'edge';
  while (pos < duration) {
    const context = contextBefore(pos, chunks.at(-1), duration, pauses, opts);
    const audioStart = startCut === 'forced' ? Math.max(0, pos - Math.max(half, context)) : pos - context;
    const cut = nextCut(pos, audioStart, duration, pauses, opts);
    if (!cut) {
      chunks.push({
        start: audioStart,
        end: duration,
        keepFrom: pos,
        keepUntil: duration,
        startCut,
        endCut: 'edge',
      });
      break;
    }
    const end = cut.kind === 'forced' ? cut.at + half : cut.at;
    chunks.push({
      start: audioStart,
      end,
      keepFrom: pos,
      keepUntil: cut.at,
      startCut,
      endCut: cut.kind,
    });
    pos = cut.at;
    startCut = cut.kind;
  }
  return chunks;
}

/**
 * Seconds of audio before a cut at `pos` that the chunk starting there also hears (`contextSeconds`), never
 * reaching back past the previous chunk's own span. None after or for a silent chunk: silence links no speakers.
 * At a forced cut the larger of this and half the overlap is used.
 */
function contextBefore(pos: number, prev: RawChunk | undefined, duration: number, pauses: readonly Pause[], opts: PlanOptions): number {
  const wanted = opts.contextSeconds ?? 0;
  if (wanted <= 0 || !prev || prev.endCut === 'edge' || insidePause(prev.start, prev.end, pauses)) return 0;
  if (silentCut(pos, pos + opts.maxSeconds, duration, pauses, opts) !== undefined) return 0;
  return Math.min(wanted, pos - prev.keepFrom);
}

/** The end of the chunk that keeps audio from `pos`, or undefined when the chunk runs to the end of the file. */
function nextCut(
  pos: number,
  audioStart: number,
  duration: number,
  pauses: readonly Pause[],
  opts: PlanOptions,
): Cut | undefined {
  const hi = audioStart + opts.maxSeconds;
  const fitsRest = duration <= hi;
  const silent = silentCut(pos, hi, duration, pauses, opts);
  if (silent !== undefined) return silent >= duration ? undefined : { at: silent, kind: 'pause' };
  if (fitsRest && duration - pos <= opts.targetSeconds) return undefined;
  // A tail shorter than this would be a tiny last chunk; when the rest fits, keep it in this chunk instead.
  const latest = fitsRest ? duration - MIN_TAIL_SHARE * opts.targetSeconds : hi;
  const pause = bestPauseCut(pos, audioStart, Math.min(hi, latest), pauses, opts);
  if (pause !== undefined) return { at: pause, kind: 'pause' };
  if (fitsRest) return undefined;
  return { at: forcedCut(pos, hi, duration, opts), kind: 'forced' };
}

/**
 * When `pos` sits at the start of (or inside) a long pause, the chunk is that silence, ending
 * `CUT_MARGIN_SECONDS` before speech resumes (or at the limit, or at the end of the file).
 */
function silentCut(pos: number, hi: number, duration: number, pauses: readonly Pause[], opts: PlanOptions) {
  const i = firstEndingAfter(pauses, pos);
  const p = pauses[i] !== undefined && (pauses[i] as Pause).start <= pos ? pauses[i] : undefined;
  if (!p || p.end - p.start < opts.minPauseSeconds || p.end - pos < silentChunkSeconds(opts)) return undefined;
  const end = p.end >= duration ? duration : p.end - CUT_MARGIN_SECONDS;
  return Math.min(end, hi);
}

function bestPauseCut(
  pos: number,
  audioStart: number,
  hi: number,
  pauses: readonly Pause[],
  opts: PlanOptions,
): number | undefined {
  const lo = pos + minStepSeconds(opts);
  let best: { at: number; cost: number } | undefined;
  for (let i = firstEndingAfter(pauses, pos); i < pauses.length; i++) {
    const p = pauses[i] as Pause;
    if (p.start <= pos) continue; // the pause we stand in was used (or is too short to be its own chunk)
    if (p.start > hi) break;
    const length = p.end - p.start;
    if (length < opts.minPauseSeconds) continue;
    const from = Math.max(p.start, lo);
    const to = Math.min(p.end, hi);
    if (from > to) continue;
    const at = clamp(idealCutPoint(p, opts), from, to);
    const cost = cutCost(at - audioStart, length, opts);
    if (!best || cost < best.cost) best = { at, cost };
  }
  return best?.at;
}

/** Midpoint, except in a pause long enough to become a silent chunk: cut early and let the silence stand alone. */
function idealCutPoint(p: Pause, opts: PlanOptions): number {
  const length = p.end - p.start;
  if (length - CUT_MARGIN_SECONDS >= silentChunkSeconds(opts) + CUT_MARGIN_SECONDS) return p.start + CUT_MARGIN_SECONDS;
  return (p.start + p.end) / 2;
}

/** Seam of a forced cut: at the target length, or halfway through the rest when that would leave a tiny tail. */
function forcedCut(pos: number, hi: number, duration: number, opts: PlanOptions): number {
  const latest = hi - opts.overlapSeconds / 2;
  const at = Math.min(pos + opts.targetSeconds, latest);
  if (duration - at >= MIN_TAIL_SHARE * opts.targetSeconds) return at;
  return Math.min(latest, (pos + duration) / 2);
}

/** True when `[start, end]` lies inside one pause. */
function insidePause(start: number, end: number, pauses: readonly Pause[]): boolean {
  const around = pauses[firstEndingAfter(pauses, start)];
  return around !== undefined && around.start <= start && end <= around.end;
}

function finish(c: RawChunk, index: number, pauses: readonly Pause[]): PlannedChunk {
  const silent = insidePause(c.start, c.end, pauses);
  return {
    index,
    ...c,
    silent,
    speech: silent ? [] : speechIn(c.start, c.end, pauses),
  };
}

/** `[start, end)` minus the pauses: the stretches where someone may be speaking. */
function speechIn(start: number, end: number, pauses: readonly Pause[]): Pause[] {
  const speech: Pause[] = [];
  let cursor = start;
  for (let i = firstEndingAfter(pauses, start); i < pauses.length; i++) {
    const p = pauses[i] as Pause;
    if (p.end <= cursor) continue;
    if (p.start >= end) break;
    if (p.start > cursor) speech.push({ start: cursor, end: p.start });
    cursor = Math.max(cursor, p.end);
  }
  if (cursor < end) speech.push({ start: cursor, end });
  return speech;
}

/**
 * Index of the first pause that ends after `t` (pauses are sorted and disjoint, so their ends are sorted too).
 * Binary search: plans are recomputed while a long file decodes, so per-chunk scans from the start would be
 * quadratic in the number of pauses.
 */
function firstEndingAfter(pauses: readonly Pause[], t: number): number {
  let lo = 0;
  let hi = pauses.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((pauses[mid] as Pause).end <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function assertOptions(opts: PlanOptions): void {
  const { targetSeconds: t, maxSeconds: max, overlapSeconds: ov, minPauseSeconds: mp } = opts;
  const ctx = opts.contextSeconds ?? 0;
  if (!(t > 0 && max >= t && ov >= 0 && ov < max / 2 && mp >= 0 && t > ov / 2 && ctx >= 0 && ctx < max / 2)) {
    throw new RangeError(
      `invalid chunk plan options (target ${t}, max ${max}, overlap ${ov}, min pause ${mp}, context ${ctx}): ` +
        'need 0 < target <= max, 0 <= overlap < max/2, overlap/2 < target, min pause >= 0, 0 <= context < max/2',
    );
  }
}
