/** What a run with `translate: [fr, de]` + summary must show when the chat double breaks German on purpose. */
import { expect } from 'vitest';
import type { Transcript } from '../../shared/core/types.js';
import { type ChatDouble, doubleTranslation } from '../doubles/chat-server.js';

/**
 * The transcript stands; French is translated segment by segment under the same ids and timing, each segment
 * sent once; German failed with its reason; the summary is there; every chat request passed spec validation.
 */
export function expectFrenchOkGermanFailed(t: Transcript, chat: ChatDouble): void {
  expect(t.status).toBe('completed');
  expect(t.chunks.length).toBeGreaterThan(2);
  expect(t.segments.length).toBeGreaterThan(3);
  const fr = t.translations?.fr;
  expect(fr?.status).toBe('ok');
  if (fr?.status === 'ok') {
    expect(fr.segments).toEqual(t.segments.map((s) => ({ id: s.id, start: s.start, end: s.end, text: doubleTranslation('fr', s.text) })));
  }
  const frIds = chat.requests.filter((r) => r.language === 'fr').flatMap((r) => r.ids ?? []);
  expect(frIds.sort((a, b) => a - b)).toEqual(t.segments.map((s) => s.id));
  expect(t.translations?.de).toMatchObject({ status: 'failed', reason: expect.stringMatching(/translation to de failed/) });
  expect(t.summary?.status).toBe('ok');
  expect(chat.requests.every((r) => r.validationErrors.length === 0)).toBe(true);
}
