/**
 * Subtitle and text renderings of a transcript. Cues follow common broadcast rules: at most two lines of
 * 42 characters, at most 7 s on screen, at least 0.5 s when the next cue leaves room, never overlapping.
 */
import { endsSentence, tokenize } from './text.js';
import type { Segment, Word } from './types.js';

/** One subtitle: `text` holds one or two lines joined by `\n`; times in seconds, whole milliseconds. */
export interface Cue {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly speaker?: string;
}

/** Longest subtitle line, in characters. */
export const MAX_LINE_CHARS = 42;
/** Lines per cue. */
export const MAX_LINES = 2;
/** Longest time a cue stays on screen. */
export const MAX_CUE_SECONDS = 7;
/** Shortest time a cue stays on screen when the next cue leaves room. */
export const MIN_CUE_SECONDS = 0.5;

/** A TXT paragraph ends before a gap this long, or at a speaker change. */
const PARAGRAPH_GAP_SECONDS = 2;
/** A TXT paragraph this long ends at the next sentence end. */
const PARAGRAPH_CHARS = 400;

/**
 * Splits segments into subtitle cues. Segments too long for one cue are split at word boundaries,
 * timed by `words` when they line up with the segment's words, else in proportion to characters.
 */
export function toCues(segments: readonly Segment[], words?: readonly Word[]): Cue[] {
  const ordered = [...segments].sort((a, b) => a.start - b.start);
  const raw = ordered.flatMap((s) => segmentCues(s, words));
  return settleTimes(raw);
}

/** SubRip: numbered cues, `HH:MM:SS,mmm`. Speaker labels are left out: SRT has no voice markup. */
export function renderSrt(segments: readonly Segment[], words?: readonly Word[]): string {
  return toCues(segments, words)
    .map((c, k) => `${k + 1}\n${timestamp(c.start, ',')} --> ${timestamp(c.end, ',')}\n${c.text}\n\n`)
    .join('');
}

/** WebVTT: `HH:MM:SS.mmm`, speakers as `<v NAME>` voice spans, `&`, `<`, `>` escaped. */
export function renderVtt(segments: readonly Segment[], words?: readonly Word[]): string {
  const cues = toCues(segments, words).map((c) => {
    const voice = c.speaker ? `<v ${escapeVtt(c.speaker)}>` : '';
    return `${timestamp(c.start, '.')} --> ${timestamp(c.end, '.')}\n${voice}${escapeVtt(c.text)}\n\n`;
  });
  return `WEBVTT\n\n${cues.join('')}`;
}

/**
 * Plain text. Consecutive segments are merged into one paragraph, since provider segments are often single
 * sentences or fragments; a paragraph ends at a speaker change, before a pause of 2 s or more, or at the
 * first sentence end after 400 characters. A speaker opens its paragraph as `[SPEAKER_1] `.
 * `words` is accepted for symmetry with the other renderers and not used.
 */
export function renderTxt(segments: readonly Segment[], _words?: readonly Word[]): string {
  const paragraphs: string[] = [];
  let current: string[] = [];
  let prev: Segment | undefined;
  for (const s of segments) {
    const text = tokenize(s.text).join(' ');
    if (text === '') continue;
    const joined = current.join(' ');
    const breakHere =
      prev !== undefined &&
      (s.speaker !== prev.speaker ||
        s.start - prev.end >= PARAGRAPH_GAP_SECONDS ||
        (joined.length >= PARAGRAPH_CHARS && endsSentence(joined)));
    if (breakHere) {
      paragraphs.push(joined);
      current = [];
    }
    if (current.length === 0 && s.speaker) current.push(`[${s.speaker}]`);
    current.push(text);
    prev = s;
  }
  if (current.length > 0) paragraphs.push(current.join(' '));
  return paragraphs.length > 0 ? `${paragraphs.join('\n\n')}\n` : '';
}

interface TimedToken {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** Cues of one segment, before times are settled against the neighbours. */
function segmentCues(s: Segment, words: readonly Word[] | undefined): Cue[] {
  const tokens = timedTokens(s, words);
  const cues: Cue[] = [];
  let open: TimedToken[] = [];
  const flush = () => {
    if (open.length === 0) return;
    const first = open[0] as TimedToken;
    const last = open.at(-1) as TimedToken;
    const text = (wrap(open.map((t) => t.text).join(' ')) as string[]).join('\n');
    cues.push(
      s.speaker
        ? { start: first.start, end: last.end, text, speaker: s.speaker }
        : { start: first.start, end: last.end, text },
    );
    open = [];
  };
  for (const t of tokens) {
    const first = open[0];
    const fits = first !== undefined && wrap([...open, t].map((x) => x.text).join(' ')) !== undefined;
    if (first && (!fits || t.end - first.start > MAX_CUE_SECONDS)) flush();
    open.push(t);
  }
  flush();
  return cues;
}

/** The segment's tokens with times: from `words` when they match one to one, else by character share. */
function timedTokens(s: Segment, words: readonly Word[] | undefined): TimedToken[] {
  const texts = tokenize(s.text).flatMap(splitLongToken);
  const own = words?.filter((w) => {
    const mid = (w.start + w.end) / 2;
    return mid >= s.start && mid <= s.end;
  });
  if (own && own.length === texts.length && texts.length > 0) {
    return texts.map((text, k) => ({
      text,
      start: (own[k] as Word).start,
      end: (own[k] as Word).end,
    }));
  }
  // Characters including the spaces between tokens, so the first token starts and the last ends with the segment.
  const total = Math.max(1, texts.reduce((sum, t) => sum + t.length + 1, 0) - 1);
  const span = Math.max(0, s.end - s.start);
  let offset = 0;
  return texts.map((text) => {
    const start = s.start + (span * offset) / total;
    const end = s.start + (span * (offset + text.length)) / total;
    offset += text.length + 1;
    return { text, start, end };
  });
}

/** A token longer than a line (a URL, a run of CJK text) is cut into line-sized pieces. */
function splitLongToken(token: string): string[] {
  const chars = [...token];
  if (chars.length <= MAX_LINE_CHARS) return [token];
  const pieces: string[] = [];
  for (let k = 0; k < chars.length; k += MAX_LINE_CHARS) pieces.push(chars.slice(k, k + MAX_LINE_CHARS).join(''));
  return pieces;
}

/**
 * Lines for `text` within the limits, splitting at the space that balances the two lines best;
 * undefined when it does not fit.
 */
export function wrap(text: string): string[] | undefined {
  if (length(text) <= MAX_LINE_CHARS) return [text];
  let best: string[] | undefined;
  let bestLongest = Number.POSITIVE_INFINITY;
  for (let k = text.indexOf(' '); k !== -1; k = text.indexOf(' ', k + 1)) {
    const lines = [text.slice(0, k), text.slice(k + 1)];
    const longest = Math.max(...lines.map(length));
    if (longest <= MAX_LINE_CHARS && longest < bestLongest) {
      best = lines;
      bestLongest = longest;
    }
  }
  return best;
}

/** Characters as a viewer counts them (code points, not UTF-16 units). */
function length(text: string): number {
  return [...text].length;
}

/**
 * Whole milliseconds, in order, never overlapping; stretched to the minimum duration where the next cue
 * leaves room and cut to the maximum.
 */
function settleTimes(cues: readonly Cue[]): Cue[] {
  const out: Cue[] = [];
  let floor = 0;
  cues.forEach((c, k) => {
    const next = cues[k + 1];
    const start = Math.max(ms(c.start), floor);
    let end = Math.max(ms(c.end), start + 1);
    const room = next ? Math.max(ms(next.start), end) : Number.POSITIVE_INFINITY;
    end = Math.max(end, Math.min(start + MIN_CUE_SECONDS * 1000, room));
    end = Math.min(end, start + MAX_CUE_SECONDS * 1000);
    out.push({ ...c, start: start / 1000, end: end / 1000 });
    floor = end;
  });
  return out;
}

function ms(seconds: number): number {
  return Math.round(Math.max(0, seconds) * 1000);
}

/** `HH:MM:SS<sep>mmm`; hours grow past two digits for very long recordings. */
function timestamp(seconds: number, sep: ',' | '.'): string {
  const total = Math.round(seconds * 1000);
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const milli = total % 1000;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${sep}${pad(milli, 3)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function escapeVtt(text: string): string {
  return text.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');
}
