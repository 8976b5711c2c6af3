/**
 * Speaker labels consistent over a whole file. Each chunk is diarized by its own call, so `speaker_1` in one chunk
 * and `speaker_1` in the next are unrelated. Provider-independent linking: each chunk's labels are matched to the
 * labels of the chunk before it through
 * - the audio both heard: at a forced cut the chunks overlap, and whoever talks at a given moment there is one
 *   person with a label on each side (weighted by co-occurring speech time, words where the provider gave them);
 * - who is talking at the cut: the last label before the cut and the first after it, strong at a forced cut (the
 *   cut falls inside speech) and weak at a pause (turns often change at pauses).
 * Labels are matched greedily by evidence, one to one; one label left over on each side is paired
 * (the other person of a call, silent at the cut); a label still unmatched is a new speaker.
 * For diarized jobs the planner gives every chunk `contextSeconds` of the audio before its cut
 * (core/plan-options.ts), so there is shared speech at every seam, not only at forced cuts.
 * Limits: a speaker silent in that shared audio can only be linked by elimination, so with four or more people
 * some get a second label (measured in test/unit/speakers.test.ts); pairing leftovers with labels heard
 * earlier in the file was tried and gave more labels, not fewer, with four people.
 * Output labels are `speaker_1`, `speaker_2`, … in order of first appearance in the file.
 */
import type { ChunkTranscript, PlannedChunk, Segment } from './types.js';

export interface SpeakerInput {
  readonly chunk: PlannedChunk;
  readonly transcript: ChunkTranscript;
}

/** Weight of "talking at the cut" evidence, per cut kind. Overlap evidence weighs its seconds. */
const CUT_WEIGHT = { forced: 2, pause: 0.5, edge: 0 } as const;
/** A pause cut only links the labels either side when the gap between their speech is at most this long. */
const MAX_PAUSE_LINK_SECONDS = 1.5;

/** The chunks' transcripts with file-wide speaker labels (chunks without speakers pass through unchanged). */
export function linkSpeakers<T extends SpeakerInput>(inputs: readonly T[]): T[] {
  const out: T[] = [];
  let next = 1;
  let prev: { chunk: PlannedChunk; segments: readonly Segment[] } | undefined;
  for (const input of inputs) {
    const segments = input.transcript.segments ?? [];
    const labels = [...new Set(segments.flatMap((s) => (s.speaker === undefined ? [] : [s.speaker])))];
    if (labels.length === 0) {
      out.push(input);
      continue;
    }
    const abs = segments.map((s) => ({ ...s, start: s.start + input.chunk.start, end: s.end + input.chunk.start }));
    const mapping = new Map<string, string>();
    if (prev) {
      const votes = evidence(prev, { chunk: input.chunk, segments: abs });
      const usedGlobal = new Set<string>();
      for (const v of [...votes].sort((a, b) => b.weight - a.weight)) {
        if (v.weight <= 0 || mapping.has(v.local) || usedGlobal.has(v.global)) continue;
        mapping.set(v.local, v.global);
        usedGlobal.add(v.global);
      }
    }
    if (prev) {
      // Elimination: labels left on both sides after the evidence (e.g. the other person of a two-person call,
      // silent at the cut) are paired in order of first appearance.
      // Only one on each side: with more, the pairing would be a guess.
      const used = new Set(mapping.values());
      const leftGlobal = labelsByFirstUse(prev.segments).filter((g) => !used.has(g));
      const leftLocal = labelsByFirstUse(abs).filter((l) => !mapping.has(l));
      if (leftGlobal.length === 1 && leftLocal.length === 1 && leftGlobal[0] && leftLocal[0]) mapping.set(leftLocal[0], leftGlobal[0]);
    }
    for (const label of labelsByFirstUse(abs)) if (!mapping.has(label)) mapping.set(label, `speaker_${next++}`);
    const relabelled = segments.map((s) => (s.speaker === undefined ? s : { ...s, speaker: mapping.get(s.speaker) ?? s.speaker }));
    out.push({ ...input, transcript: { ...input.transcript, segments: relabelled } });
    prev = { chunk: input.chunk, segments: abs.map((s) => (s.speaker === undefined ? s : { ...s, speaker: mapping.get(s.speaker) ?? s.speaker })) };
  }
  return out;
}

interface Vote {
  readonly global: string;
  readonly local: string;
  weight: number;
}

/** Evidence that a label of `cur` (local) is a label of `prev` (already global). Absolute times. */
function evidence(
  prev: { chunk: PlannedChunk; segments: readonly Segment[] },
  cur: { chunk: PlannedChunk; segments: readonly Segment[] },
): Vote[] {
  const votes = new Map<string, Vote>();
  const add = (global: string | undefined, local: string | undefined, weight: number) => {
    if (global === undefined || local === undefined || weight <= 0) return;
    const key = `${global}\u0000${local}`;
    const v = votes.get(key) ?? { global, local, weight: 0 };
    v.weight += weight;
    votes.set(key, v);
  };
  // Shared audio: co-occurring labelled time inside the overlap of the two chunks.
  const from = cur.chunk.start;
  const to = prev.chunk.end;
  if (to > from) {
    for (const a of prev.segments) {
      for (const b of cur.segments) {
        const overlap = Math.min(a.end, b.end, to) - Math.max(a.start, b.start, from);
        if (overlap > 0) add(a.speaker, b.speaker, overlap);
      }
    }
  }
  // Talking at the cut: the last label of `prev` before the seam and the first of `cur` after it.
  const seam = cur.chunk.keepFrom;
  const kind = cur.chunk.startCut;
  if (kind === 'forced') {
    // The cut fell inside speech: the label covering the seam on each side is the same voice.
    const covering = (segs: readonly Segment[]) => segs.find((s) => s.start <= seam && s.end >= seam);
    add(covering(prev.segments)?.speaker, covering(cur.segments)?.speaker, CUT_WEIGHT.forced);
  } else if (kind === 'pause') {
    const before = [...prev.segments].filter((s) => s.end <= seam + 0.05).sort((a, b) => a.end - b.end).at(-1);
    const after = [...cur.segments].filter((s) => s.start >= seam - 0.05).sort((a, b) => a.start - b.start)[0];
    if (before && after && after.start - before.end <= MAX_PAUSE_LINK_SECONDS) add(before.speaker, after.speaker, CUT_WEIGHT.pause);
  }
  return [...votes.values()];
}

function labelsByFirstUse(segments: readonly Segment[]): string[] {
  return [...new Set([...segments].sort((a, b) => a.start - b.start).flatMap((s) => (s.speaker === undefined ? [] : [s.speaker])))];
}
