/** The job's cost ledger: transcription plus every chat call of the enrichments. */
import type { ChatCallUsage, ChatUsageLedger, TranscriptUsage } from './types.js';

/** Totals over `calls`. */
export function chatLedger(provider: string, model: string, calls: readonly ChatCallUsage[]): ChatUsageLedger {
  const costs = calls.map((c) => c.costUsd).filter((c): c is number => c !== undefined);
  return {
    provider,
    model,
    inputTokens: calls.reduce((s, c) => s + (c.inputTokens ?? 0), 0),
    outputTokens: calls.reduce((s, c) => s + (c.outputTokens ?? 0), 0),
    ...(costs.length ? { costUsd: round6(costs.reduce((a, b) => a + b, 0)) } : {}),
    calls,
  };
}

/** `usage` with the chat ledger added: `costUsd` becomes transcription $ + chat $ where either is known. */
export function withChatUsage(usage: TranscriptUsage, ledger: ChatUsageLedger): TranscriptUsage {
  const transcription = usage.transcriptionCostUsd ?? (usage.chat ? undefined : usage.costUsd);
  const parts = [transcription, ledger.costUsd].filter((c): c is number => c !== undefined);
  return {
    audioSeconds: usage.audioSeconds,
    ...(parts.length ? { costUsd: round6(parts.reduce((a, b) => a + b, 0)) } : {}),
    ...(transcription !== undefined ? { transcriptionCostUsd: transcription } : {}),
    chat: ledger,
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
