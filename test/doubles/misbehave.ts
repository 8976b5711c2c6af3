/**
 * A misbehaving speech model for the provider doubles: on a seeded share of calls it loops on its first phrase
 * until the end of the chunk, or stops part way through. The same calls misbehave on every run.
 */
import type { Word } from '../../shared/core/types.js';
import { mulberry32 } from '../fixtures/prng.js';

export interface MisbehaviourPlan {
  readonly seed: number;
  /** Share of calls that loop. */
  readonly loopRate: number;
  /** Share of calls that stop early. */
  readonly stopRate: number;
  /** Share of the heard words an early stop keeps. @default 0.4 */
  readonly keep?: number;
}

/** What each call did, for tests and benches. */
export type Misbehaviour = 'loop' | 'early-stop' | undefined;

/** A `distort` function for `startProviderDouble`, and the record of what it did per call. */
export function misbehavingModel(plan: MisbehaviourPlan): {
  distort: (words: Word[], ctx: { readonly call: number; readonly seconds: number }) => Word[];
  readonly log: Map<number, Misbehaviour>;
} {
  const log = new Map<number, Misbehaviour>();
  const seen = new Map<string, number>();
  return {
    log,
    distort(words, { call, seconds }) {
      // The verdict depends on the chunk (its length) and how often it was sent, not on arrival order:
      // a run misbehaves on the same chunks every time, and a second call of a chunk rolls afresh.
      const n = (seen.get(seconds.toFixed(3)) ?? 0) + 1;
      seen.set(seconds.toFixed(3), n);
      const roll = mulberry32(fnv1a(`${plan.seed}:${seconds.toFixed(3)}:${n}`))();
      const kind: Misbehaviour = roll < plan.loopRate ? 'loop' : roll < plan.loopRate + plan.stopRate ? 'early-stop' : undefined;
      log.set(call, kind);
      if (kind === 'loop') return loop(words);
      if (kind === 'early-stop') return words.slice(0, Math.floor(words.length * (plan.keep ?? 0.4)));
      return words;
    },
  };
}

/** The first three words over and over, on the heard words' times: a decoder stuck in a repetition. */
function loop(words: readonly Word[]): Word[] {
  const phrase = words.slice(0, 3).map((w) => w.word);
  if (phrase.length === 0) return [];
  return words.map((w, i) => ({ ...w, word: phrase[i % phrase.length] ?? w.word }));
}

/** 32-bit FNV-1a of a string: a seed per chunk and send. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i += 1) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
