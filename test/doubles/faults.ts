/** Deterministic fault injection for the provider doubles. */
import { mulberry32 } from '../fixtures/prng.js';

/** One way a call can go wrong. */
export type Fault =
  /** 429 with the vendor's error body and, when given, `Retry-After` in seconds. */
  | { readonly kind: 'rate-limit'; readonly retryAfterSeconds?: number }
  /** Any status with the vendor's error body (500, 503, 413, …). */
  | { readonly kind: 'status'; readonly status: number; readonly message?: string; readonly retryAfterSeconds?: number }
  /** Accept the request and never answer, until the client gives up. */
  | { readonly kind: 'hang' }
  /** Status 200, then half of a JSON body, then end the response. */
  | { readonly kind: 'truncated' }
  /** Drop the connection without an answer. */
  | { readonly kind: 'reset' };

/**
 * Which calls fail and how. `byCall` picks calls by number (1-based, in arrival order);
 * `random` fails a seeded pseudo-random fraction of the other calls, the same ones on every run.
 */
export interface FaultPlan {
  readonly byCall?: Readonly<Record<number, Fault>>;
  readonly random?: { readonly seed: number; readonly rate: number; readonly faults: readonly Fault[] };
}

/** Picks the fault (if any) for each call of one double. */
export function faultPicker(plan: FaultPlan | undefined): (call: number) => Fault | undefined {
  const random = plan?.random;
  const next = mulberry32(random?.seed ?? 0);
  return (call) => {
    const roll = next();
    const pick = next();
    const fixed = plan?.byCall?.[call];
    if (fixed) return fixed;
    if (!random || random.faults.length === 0 || roll >= random.rate) return undefined;
    return random.faults[Math.floor(pick * random.faults.length)];
  };
}
