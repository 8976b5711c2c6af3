/**
 * Stitches per-chunk transcripts into one timeline.
 *
 * Every chunk becomes a list of tokens (whitespace-separated words with punctuation, each with an absolute
 * time, real or estimated) grouped into segments. Pause seams need nothing unless the later chunk also heard
 * the end of the earlier one for speaker linking (`contextSeconds`): those words are kept once, from the
 * earlier chunk (see `resolveContext`).
 * Forced seams overlap by `overlapSeconds`, so the words spoken there arrive twice:
 * - both sides have word timestamps: each word belongs to the side its midpoint falls in (`[keepFrom, keepUntil)`);
 * - otherwise: the tail of one side is aligned with the head of the other on normalized tokens, the longest
 *   common run is kept once (from the earlier chunk, which heard the words with more context) and the copy
 *   plus anything after it in the earlier chunk (a word clipped by the cut) or before it in the later chunk
 *   is dropped. Alignment is preferred over splitting text proportionally at the seam because estimated
 *   times of text-only results are too coarse to place a seam within a word or two.
 * When no common run is found, both sides are kept whole and a warning says words may repeat: a duplicated
 * word is a smaller harm than a lost one.
 */
import { cleanText, endsSentence, normalizeToken, tokenize } from './text.js';
import type { ChunkTranscript, Pause, PlannedChunk, Segment, Word } from './types.js';

/** One chunk and what the provider returned for it (times chunk-relative). */
export interface StitchInput {
  readonly chunk: PlannedChunk;
  readonly transcript: ChunkTranscript;
}

/** How chunk results are timed: the provider's timestamps, or the cut plan's speech stretches. */
export interface StitchOptions {
  readonly timing: 'provider' | 'cut-plan';
}

/** The stitched timeline. `words` is present only when every chunk with text had word timestamps. */
export interface StitchResult {
  readonly segments: Segment[];
  readonly words?: Word[];
  readonly warnings: string[];
}

/** A segment ending this close to a forced seam, without sentence-final punctuation, is joined with the next. */
export const SEAM_JOIN_SECONDS = 0.3;

/** Internal time resolution; chunk-relative times shifted by two chunk starts must compare equal at a seam. */
const TIME_RESOLUTION = 1e6;

/**
 * Stitches chunk transcripts (any order; sorted by chunk index) into absolute-timed segments.
 * Chunks missing from `inputs` (silent or failed) simply leave a gap.
 */
export function stitchChunks(inputs: readonly StitchInput[], opts: StitchOptions): StitchResult {
  const warnings: string[] = [];
  const pieces = [...inputs]
    .sort((a, b) => a.chunk.index - b.chunk.index)
    .map((input) => toPiece(input, opts.timing, warnings));
  const seams: [Piece, Piece][] = [];
  for (let i = 0; i + 1 < pieces.length; i++) {
    const a = pieces[i] as Piece;
    const b = pieces[i + 1] as Piece;
    if (a.chunk.endCut === 'forced' && b.chunk.index === a.chunk.index + 1) {
      resolveSeam(a, b, warnings);
      seams.push([a, b]);
    }
  }
  for (const [i, b] of pieces.entries()) {
    if (b.chunk.startCut !== 'pause' || b.chunk.start >= b.chunk.keepFrom) continue;
    const a = pieces[i - 1];
    resolveContext(a?.chunk.index === b.chunk.index - 1 ? a : undefined, b);
  }
  const perPiece = pieces.map(pieceSegments);
  for (const [a, b] of seams) joinAcrossSeam(perPiece, pieces.indexOf(a), pieces.indexOf(b), a.chunk.keepUntil);
  const segments = monotonic(perPiece.flat());
  const hasText = pieces.filter((p) => p.tokens.length > 0);
  const words = hasText.length > 0 && hasText.every((p) => p.words) ? pieces.flatMap(keptWords) : undefined;
  return words ? { segments, words, warnings } : { segments, warnings };
}

interface Tok {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Index into the piece's `segs`. */
  readonly seg: number;
}

interface PieceSeg {
  readonly start: number;
  readonly end: number;
  readonly speaker?: string;
  /** Timed from a speech stretch of the cut plan, not by the provider. */
  readonly fromPlan: boolean;
}

interface Piece {
  readonly chunk: PlannedChunk;
  readonly tokens: readonly Tok[];
  readonly segs: readonly PieceSeg[];
  /** Token times are real word timestamps (not interpolated), so the midpoint rule is exact. */
  readonly wordTimed: boolean;
  readonly words?: readonly Word[];
  /** Kept tokens are `tokens[from, until)`; seams move these. */
  from: number;
  until: number;
  wordsFrom: number;
  wordsUntil: number;
}

function toPiece(input: StitchInput, timing: StitchOptions['timing'], warnings: string[]): Piece {
  const { chunk, transcript } = input;
  const shift = (t: number) => Math.round((t + chunk.start) * TIME_RESOLUTION) / TIME_RESOLUTION;
  const words = transcript.words
    ?.filter((w) => w.word.trim().length > 0)
    .map((w) => ({
      word: w.word.trim(),
      start: shift(w.start),
      end: shift(Math.max(w.start, w.end)),
      ...(w.estimated ? { estimated: true as const } : {}),
    }));
  const segments = transcript.segments
    ?.filter((s) => s.text.trim().length > 0)
    .map((s) => ({
      ...s,
      start: shift(s.start),
      end: shift(Math.max(s.start, s.end)),
    }));
  let built: Pick<Piece, 'tokens' | 'segs' | 'wordTimed'>;
  if (timing === 'provider' && segments && segments.length > 0) built = fromSegments(segments, words);
  else if (timing === 'provider' && words && words.length > 0) built = fromWords(words);
  else {
    if (timing === 'provider' && cleanText(transcript.text) !== '') {
      warnings.push(`chunk ${chunk.index}: provider returned no timestamps; timed from the cut plan`);
    }
    built = fromPlan(transcript.text, chunk);
  }
  const useWords = timing === 'provider' && words && words.length > 0 ? words : undefined;
  return {
    chunk,
    ...built,
    words: useWords,
    from: 0,
    until: built.tokens.length,
    wordsFrom: 0,
    wordsUntil: useWords?.length ?? 0,
  };
}

/** Provider segments; token times come from the words when the counts agree, else from character offsets. */
function fromSegments(segments: readonly Segment[], words: readonly Word[] | undefined) {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  const wordsBySeg = words ? assignWords(words, sorted) : undefined;
  let wordTimed = wordsBySeg !== undefined;
  const tokens: Tok[] = [];
  sorted.forEach((s, seg) => {
    const texts = tokenize(s.text);
    const own = wordsBySeg?.[seg];
    if (own && own.length === texts.length) {
      tokens.push(
        ...texts.map((text, k) => ({
          text,
          start: (own[k] as Word).start,
          end: (own[k] as Word).end,
          seg,
        })),
      );
    } else {
      wordTimed = false;
      tokens.push(...interpolate(texts, s.start, s.end, seg));
    }
  });
  const segs = sorted.map((s) => ({
    start: s.start,
    end: s.end,
    speaker: s.speaker,
    fromPlan: false,
  }));
  return { tokens, segs, wordTimed };
}

/** Words but no segments: segments are cut after sentence-final words and at gaps of a second or more. */
function fromWords(words: readonly Word[]) {
  const tokens: Tok[] = [];
  const segs: PieceSeg[] = [];
  words.forEach((w, k) => {
    const prev = words[k - 1];
    const open = segs.at(-1);
    if (!open || !prev || endsSentence(prev.word) || w.start - prev.end >= 1) {
      segs.push({ start: w.start, end: w.end, fromPlan: false });
    } else {
      segs[segs.length - 1] = { ...open, end: Math.max(open.end, w.end) };
    }
    tokens.push({
      text: w.word,
      start: w.start,
      end: w.end,
      seg: segs.length - 1,
    });
  });
  return { tokens, segs, wordTimed: true };
}

/**
 * Text without timestamps: the words are spread over the chunk's speech stretches in proportion to their
 * duration, each boundary moved to a nearby sentence end when there is one; each stretch with words
 * becomes one segment timed by the stretch.
 */
/**
 * Text without timestamps becomes ONE segment spanning the chunk's speech (first speech start to last speech
 * end): the cut plan knows those edges to within the pause detector's accuracy, and guessing which words fall
 * in which inner stretch would move edges by whole words. Token times (used to split long cues) spread the
 * characters over the speech stretches only, skipping the pauses between them.
 */
function fromPlan(text: string, chunk: PlannedChunk) {
  const texts = tokenize(text);
  const stretches: readonly Pause[] = chunk.speech.length > 0 ? chunk.speech : [{ start: chunk.start, end: chunk.end }];
  if (texts.length === 0) return { tokens: [], segs: [], wordTimed: false };
  const first = stretches[0] as Pause;
  const last = stretches[stretches.length - 1] as Pause;
  const segs: PieceSeg[] = [{ start: first.start, end: last.end, fromPlan: true }];
  const speechTime = speechClock(stretches);
  const tokens = interpolate(texts, 0, speechTime.total, 0).map((t) => ({
    ...t,
    start: speechTime.at(t.start),
    end: speechTime.at(t.end),
  }));
  return { tokens, segs, wordTimed: false };
}

/** Maps "seconds of speech so far" to absolute time across speech stretches, skipping the pauses. */
function speechClock(stretches: readonly Pause[]) {
  const total = stretches.reduce((sum, s) => sum + (s.end - s.start), 0);
  return {
    total,
    at(speechSeconds: number): number {
      let left = speechSeconds;
      for (const s of stretches) {
        const length = s.end - s.start;
        if (left <= length) return s.start + left;
        left -= length;
      }
      return (stretches[stretches.length - 1] as Pause).end;
    },
  };
}

/** Each word goes to the segment containing its midpoint, else to the nearest one. */
function assignWords(words: readonly Word[], segments: readonly Segment[]): Word[][] {
  const bySeg: Word[][] = segments.map(() => []);
  for (const w of words) {
    const mid = (w.start + w.end) / 2;
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    segments.forEach((s, k) => {
      const distance = mid < s.start ? s.start - mid : mid > s.end ? mid - s.end : 0;
      if (distance < bestDistance) {
        best = k;
        bestDistance = distance;
      }
    });
    bySeg[best]?.push(w);
  }
  return bySeg;
}

/** Times for tokens spread over `[start, end]` in proportion to their characters. */
function interpolate(texts: readonly string[], start: number, end: number, seg: number): Tok[] {
  const total = Math.max(1, texts.reduce((sum, t) => sum + t.length + 1, 0) - 1);
  let offset = 0;
  return texts.map((text) => {
    const t0 = start + ((end - start) * offset) / total;
    const t1 = start + ((end - start) * (offset + text.length)) / total;
    offset += text.length + 1;
    return { text, start: t0, end: t1, seg };
  });
}

function resolveSeam(a: Piece, b: Piece, warnings: string[]): void {
  const seam = a.chunk.keepUntil;
  if (a.wordTimed && b.wordTimed) {
    a.until = firstFrom(a.tokens, a.from, a.until, seam);
    b.from = firstFrom(b.tokens, b.from, b.until, seam);
  } else if (!alignOverlap(a, b, seam)) {
    if (a.until > a.from && b.until > b.from) {
      warnings.push(
        `chunks ${a.chunk.index}/${b.chunk.index}: overlap at ${seam.toFixed(1)} s not aligned; a few words may repeat`,
      );
    }
  }
  if (a.words && b.words) {
    a.wordsUntil = firstFrom(a.words, a.wordsFrom, a.wordsUntil, seam);
    b.wordsFrom = firstFrom(b.words, b.wordsFrom, b.wordsUntil, seam);
  }
}

/** How many words an aligned context seam may land from the timed one before the alignment is distrusted. */
const CONTEXT_ALIGN_SLACK_TOKENS = 8;

/**
 * A pause seam where `b` also heard the end of `a` (speaker context, `PlanOptions.contextSeconds`): the words
 * both heard are kept once, from `a`, which heard them inside its own span. Word-timed `b`: its words before the
 * cut go. Otherwise the overlap is aligned on text (segment times are only interpolated within a segment), and
 * the alignment is used only when it lands within `CONTEXT_ALIGN_SLACK_TOKENS` words of the timed cut; else `b`'s tokens
 * timed before the cut go. Without `a` (a failed chunk), `b`'s context is dropped all the same: it belongs to
 * the failed chunk's span.
 */
function resolveContext(a: Piece | undefined, b: Piece): void {
  const seam = b.chunk.keepFrom;
  const byTime = firstFrom(b.tokens, b.from, b.until, seam);
  if (b.wordTimed || !a) b.from = byTime;
  else {
    const aUntil = a.until;
    if (!alignOverlap(a, b, seam, 'earlier') || Math.abs(b.from - byTime) > CONTEXT_ALIGN_SLACK_TOKENS) {
      a.until = aUntil;
      b.from = byTime;
    }
  }
  if (b.words) b.wordsFrom = firstFrom(b.words, b.wordsFrom, b.wordsUntil, seam);
}

/** First index in `[from, until)` whose midpoint is at or after `seam`. */
function firstFrom(
  items: readonly { start: number; end: number }[],
  from: number,
  until: number,
  seam: number,
): number {
  for (let k = from; k < until; k++) {
    const it = items[k] as { start: number; end: number };
    if ((it.start + it.end) / 2 >= seam) return k;
  }
  return until;
}

/**
 * Finds the longest run of equal normalized tokens between the tail of `a` and the head of `b` (ties: the run
 * closest to the seam on both sides) and keeps it once: its first half from `a`, its second half from `b`
 * (`keep: 'earlier'`: all of it from `a`); what
 * follows it in `a` and precedes it in `b` is dropped.
 * A single-token run counts only when it is exactly `a`'s last and `b`'s first token.
 */
function alignOverlap(a: Piece, b: Piece, seam: number, keep: 'split' | 'earlier' = 'split'): boolean {
  const reach = Math.max(3, 2 * (a.chunk.end - a.chunk.keepUntil + b.chunk.keepFrom - b.chunk.start));
  const tailFrom = Math.max(
    a.from,
    Math.min(
      a.until - 12,
      indexWhere(a.tokens, a.from, a.until, (t) => t.end >= seam - reach),
    ),
  );
  const headUntil = Math.min(
    b.until,
    Math.max(
      b.from + 12,
      indexWhere(b.tokens, b.from, b.until, (t) => t.start > seam + reach),
    ),
  );
  const tail = a.tokens.slice(tailFrom, a.until).map((t) => normalizeToken(t.text));
  const head = b.tokens.slice(b.from, headUntil).map((t) => normalizeToken(t.text));
  const run = longestCommonRun(tail, head);
  if (!run) return false;
  const exactEdge = run.endA === tail.length && run.startB === 0;
  if (run.length < 2 && !exactEdge) return false;
  // Each chunk is most reliable away from its own edges, and the words right at a cut may be clipped
  // (a model mangles them, yet they can still normalize equal). So `a` keeps the first half of the matched
  // run and `b` supplies the second half: the clipped word at `a`'s end comes from `b`, and vice versa.
  // At a context seam nothing is clipped (the cut is in a pause) and `a` heard the run inside its own span.
  const keepInA = keep === 'earlier' ? run.length : Math.ceil(run.length / 2);
  a.until = tailFrom + run.endA - (run.length - keepInA);
  b.from = b.from + run.startB + keepInA;
  return true;
}

function indexWhere(tokens: readonly Tok[], from: number, until: number, test: (t: Tok) => boolean): number {
  for (let k = from; k < until; k++) if (test(tokens[k] as Tok)) return k;
  return until;
}

interface Run {
  readonly length: number;
  /** Run ends (exclusive) at this index of `a`. */
  readonly endA: number;
  /** Run starts at this index of `b`. */
  readonly startB: number;
}

/** Longest common contiguous run; ties go to the run nearest `a`'s end plus `b`'s start. Empty tokens never match. */
function longestCommonRun(a: readonly string[], b: readonly string[]): Run | undefined {
  let best: Run | undefined;
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      const x = a[i - 1] as string;
      if (x === '' || x !== b[j - 1]) continue;
      const length = (prev[j - 1] as number) + 1;
      row[j] = length;
      const run = { length, endA: i, startB: j - length };
      if (
        !best ||
        length > best.length ||
        (length === best.length && distance(run, a.length) < distance(best, a.length))
      ) {
        best = run;
      }
    }
    prev = row;
  }
  return best;
}

function distance(run: Run, tailLength: number): number {
  return tailLength - run.endA + run.startB;
}

/** The kept tokens of a piece as segments, timed and clipped to the chunk's keep span. */
function pieceSegments(p: Piece): Segment[] {
  const { keepFrom, keepUntil } = p.chunk;
  const firstOf = new Map<number, Tok>();
  const lastOf = new Map<number, Tok>();
  for (const t of p.tokens) {
    if (!firstOf.has(t.seg)) firstOf.set(t.seg, t);
    lastOf.set(t.seg, t);
  }
  const out: Segment[] = [];
  let k = p.from;
  while (k < p.until) {
    const seg = (p.tokens[k] as Tok).seg;
    const first = k;
    while (k < p.until && (p.tokens[k] as Tok).seg === seg) k++;
    const kept = p.tokens.slice(first, k);
    const s = p.segs[seg] as PieceSeg;
    // A segment trimmed at a seam ends where its last kept word ends, not where the provider's segment did.
    const start = s.fromPlan || kept[0] === firstOf.get(seg) ? s.start : (kept[0] as Tok).start;
    const end = s.fromPlan || kept.at(-1) === lastOf.get(seg) ? s.end : (kept.at(-1) as Tok).end;
    const clippedStart = clamp(start, keepFrom, keepUntil);
    const text = kept.map((t) => t.text).join(' ');
    const segment: Segment = {
      start: clippedStart,
      end: Math.max(clippedStart, clamp(end, keepFrom, keepUntil)),
      text,
    };
    out.push(s.speaker === undefined ? segment : { ...segment, speaker: s.speaker });
  }
  return out;
}

/** Joins the last segment before a forced seam with the first after it when a cut split a sentence. */
function joinAcrossSeam(perPiece: Segment[][], ia: number, ib: number, seam: number): void {
  const before = perPiece[ia] as Segment[];
  const after = perPiece[ib] as Segment[];
  const last = before.at(-1);
  const first = after[0];
  if (!last || !first || last.speaker !== first.speaker || endsSentence(last.text)) return;
  if (seam - last.end > SEAM_JOIN_SECONDS || first.start - seam > SEAM_JOIN_SECONDS) return;
  before[before.length - 1] = {
    ...last,
    end: first.end,
    text: `${last.text} ${first.text}`,
  };
  after.shift();
}

/** Segments in time order without overlap: a start before the previous end moves to that end. */
function monotonic(segments: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  let floor = 0;
  for (const s of segments) {
    const start = Math.max(s.start, floor);
    const end = Math.max(start, s.end);
    out.push({ ...s, start, end });
    floor = end;
  }
  return out;
}

function keptWords(p: Piece): Word[] {
  return p.words ? p.words.slice(p.wordsFrom, p.wordsUntil) : [];
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
