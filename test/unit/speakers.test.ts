/** Speaker labels linked across chunks whose diarization labels are arbitrary per call. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../fixtures/prng.js';
import { linkSpeakers } from '../../shared/core/speakers.js';
import { planChunks } from '../../shared/core/plan.js';
import { planOptionsFor } from '../../shared/core/plan-options.js';
import type { ChunkTranscript, CutKind, PlannedChunk, Segment } from '../../shared/core/types.js';

/** A conversation of people A, B, C: turns of 2–6 s, absolute times. */
function conversation(seconds: number, people: string[], seed: number): { start: number; end: number; who: string }[] {
  const rnd = mulberry32(seed);
  const turns: { start: number; end: number; who: string }[] = [];
  let t = 0.5;
  let who = people[0] ?? 'A';
  while (t < seconds - 1) {
    const end = Math.min(seconds - 0.5, t + 2 + rnd() * 4);
    turns.push({ start: t, end, who });
    const others = people.filter((p) => p !== who);
    who = others[Math.floor(rnd() * others.length)] ?? who;
    t = end + (rnd() < 0.5 ? 0.2 : 0.8);
  }
  return turns;
}

function chunk(index: number, start: number, end: number, keepFrom: number, keepUntil: number, startCut: CutKind): PlannedChunk {
  return { index, start, end, keepFrom, keepUntil, startCut, endCut: 'forced', silent: false, speech: [] };
}

/** What a diarizing provider returns for `c`: the turns inside it, chunk-relative, labels arbitrary per call. */
function diarized(c: PlannedChunk, turns: ReturnType<typeof conversation>, seed: number): ChunkTranscript {
  const rnd = mulberry32(seed);
  const names = new Map<string, string>();
  const pool = ['speaker_1', 'speaker_2', 'speaker_3', 'speaker_4'].sort(() => rnd() - 0.5);
  const segments: Segment[] = turns
    .filter((t) => t.end > c.start && t.start < c.end)
    .map((t) => {
      if (!names.has(t.who)) names.set(t.who, pool[names.size] ?? 'x');
      return { start: Math.max(t.start, c.start) - c.start, end: Math.min(t.end, c.end) - c.start, text: t.who, speaker: names.get(t.who) };
    });
  return { text: segments.map((s) => s.text).join(' '), segments, provider: 'p', model: 'm', usage: { audioSeconds: c.end - c.start } };
}

/** Each output label names one true person and each person one label. */
function consistent(out: { transcript: ChunkTranscript }[]): boolean {
  const byLabel = new Map<string, Set<string>>();
  const byWho = new Map<string, Set<string>>();
  for (const { transcript } of out) {
    for (const s of transcript.segments ?? []) {
      const label = s.speaker ?? '';
      byLabel.set(label, (byLabel.get(label) ?? new Set()).add(s.text));
      byWho.set(s.text, (byWho.get(s.text) ?? new Set()).add(label));
    }
  }
  return [...byLabel.values(), ...byWho.values()].every((set) => set.size === 1);
}

describe('linkSpeakers', () => {
  it('links arbitrary per-call labels through the overlap at forced cuts', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const turns = conversation(120, ['A', 'B'], seed);
      // 30-s chunks with a 2-s overlap around each forced cut.
      const chunks = [0, 1, 2, 3].map((i) => chunk(i, Math.max(0, i * 30 - 1), Math.min(120, (i + 1) * 30 + 1), i * 30, (i + 1) * 30, i === 0 ? 'edge' : 'forced'));
      const linked = linkSpeakers(chunks.map((c, i) => ({ chunk: c, transcript: diarized(c, turns, seed * 100 + i) })));
      expect(consistent(linked), `seed ${seed}`).toBe(true);
      expect(linked[0]?.transcript.segments?.[0]?.speaker).toBe('speaker_1');
    }
  });

  it('without linking, the per-call labels are not consistent (the test can fail)', () => {
    const turns = conversation(120, ['A', 'B', 'C'], 3);
    const chunks = [0, 1, 2, 3].map((i) => chunk(i, Math.max(0, i * 30 - 1), Math.min(120, (i + 1) * 30 + 1), i * 30, (i + 1) * 30, i === 0 ? 'edge' : 'forced'));
    const raw = chunks.map((c, i) => ({ chunk: c, transcript: diarized(c, turns, 300 + i) }));
    expect(consistent(raw)).toBe(false);
  });

  it('a two-person call cut at pauses: the speaker at the cut and the other by elimination', () => {
    let ok = 0;
    for (let seed = 1; seed <= 20; seed += 1) {
      const turns = conversation(120, ['A', 'B'], seed);
      // Cut at the pause after the first turn that ends past each 30-s mark, only where the same person goes on.
      const cuts: number[] = [];
      for (let i = 0; i + 1 < turns.length; i += 1) {
        const a = turns[i];
        const b = turns[i + 1];
        if (a && b && a.end > (cuts.length + 1) * 30 && a.who === b.who) cuts.push((a.end + b.start) / 2);
      }
      const edges = [0, ...cuts, 120];
      const chunks = edges.slice(0, -1).map((s, i) => chunk(i, s, edges[i + 1] ?? 120, s, edges[i + 1] ?? 120, i === 0 ? 'edge' : 'pause'));
      const linked = linkSpeakers(chunks.map((c, i) => ({ chunk: c, transcript: diarized(c, turns, seed * 100 + i) })));
      if (consistent(linked)) ok += 1;
    }
    expect(ok).toBe(20);
  });

  it('passes chunks without speakers through', () => {
    const c = chunk(0, 0, 10, 0, 10, 'edge');
    const t: ChunkTranscript = { text: 'hi', segments: [{ start: 0, end: 1, text: 'hi' }], provider: 'p', model: 'm', usage: { audioSeconds: 10 } };
    expect(linkSpeakers([{ chunk: c, transcript: t }])[0]?.transcript).toBe(t);
  });
});

describe('linkSpeakers with three people', () => {
  it('never gives two people one label (it may split one person into two labels: the overlap cannot tell more)', () => {
    let merged = 0;
    let linkedAll = 0;
    for (let seed = 1; seed <= 50; seed += 1) {
      const turns = conversation(120, ['A', 'B', 'C'], seed);
      const chunks = [0, 1, 2, 3].map((i) => chunk(i, Math.max(0, i * 30 - 1), Math.min(120, (i + 1) * 30 + 1), i * 30, (i + 1) * 30, i === 0 ? 'edge' : 'forced'));
      const linked = linkSpeakers(chunks.map((c, i) => ({ chunk: c, transcript: diarized(c, turns, seed * 100 + i) })));
      const byLabel = new Map<string, Set<string>>();
      for (const { transcript } of linked) for (const s of transcript.segments ?? []) byLabel.set(s.speaker ?? '', (byLabel.get(s.speaker ?? '') ?? new Set()).add(s.text));
      if ([...byLabel.values()].some((people) => people.size > 1)) merged += 1;
      if (consistent(linked)) linkedAll += 1;
    }
    expect(merged).toBe(0);
    console.log(`three people, four 30-s chunks, forced cuts: ${linkedAll}/50 runs with one label per person`);
  });
});

describe('linkSpeakers on planned chunks with speaker context (diarized jobs)', () => {
  /** 20-minute calls, chunks planned at the conversation's pauses as the split stage plans them (120-s default). */
  function run(people: string[], diarize: boolean, seeds = 30): { exact: number; merged: number; meanLabels: number } {
    let exact = 0;
    let merged = 0;
    let labelCount = 0;
    const opts = planOptionsFor({ timestamps: true, maxUploadBytes: 100 * 1024 * 1024, maxAudioSeconds: 3600 }, 120, { diarize });
    for (let seed = 1; seed <= seeds; seed += 1) {
      const turns = conversation(1200, people, seed);
      const pauses = turns.slice(1).map((t, i) => ({ start: (turns[i] as { end: number }).end, end: t.start }));
      const chunks = planChunks(1200, pauses, opts).chunks.filter((c) => !c.silent);
      const linked = linkSpeakers(chunks.map((c, i) => ({ chunk: c, transcript: diarized(c, turns, seed * 100 + i) })));
      const labels = new Map<string, Set<string>>();
      for (const { transcript } of linked) for (const s of transcript.segments ?? []) labels.set(s.speaker ?? '', (labels.get(s.speaker ?? '') ?? new Set()).add(s.text));
      if ([...labels.values()].some((who) => who.size > 1)) merged += 1;
      if (consistent(linked)) exact += 1;
      labelCount += labels.size;
    }
    return { exact, merged, meanLabels: labelCount / seeds };
  }

  it('three people keep one label each over a 20-minute call; without the context they do not', () => {
    const withContext = run(['A', 'B', 'C'], true);
    const without = run(['A', 'B', 'C'], false);
    console.log(`three people, 20 min, 120-s chunks: with speaker context ${withContext.exact}/30 calls one label per person; without ${without.exact}/30 (mean ${without.meanLabels.toFixed(1)} labels)`);
    expect(withContext.merged).toBe(0);
    expect(withContext.exact).toBe(30);
    expect(without.exact).toBeLessThan(5);
  });

  it('four people: never one label for two people, most calls exact (a silent person can only be linked by elimination)', () => {
    const four = run(['A', 'B', 'C', 'D'], true);
    console.log(`four people, 20 min, 120-s chunks: ${four.exact}/30 calls one label per person, mean ${four.meanLabels.toFixed(1)} labels, ${four.merged} calls with two people under one label`);
    expect(four.merged).toBe(0);
    expect(four.exact).toBeGreaterThanOrEqual(15);
  });
});
