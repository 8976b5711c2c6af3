import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateMessagesTokens } from '../../shared/core/chat-tokens.js';
import {
  planTranslationBatches,
  type TranslationItem,
  translationMessages,
  translationReplyTokens,
} from '../../shared/core/translate-batches.js';
import { checkTranslationReply } from '../../shared/core/translate-reply.js';

const items = fc.array(fc.string({ minLength: 1, maxLength: 400 }), { maxLength: 300 }).map((texts) => texts.map((text, id) => ({ id, text })));

describe('planTranslationBatches', () => {
  it('keeps every segment exactly once, in order', () => {
    fc.assert(
      fc.property(items, fc.integer({ min: 2_000, max: 64_000 }), (list, contextTokens) => {
        const batches = planTranslationBatches(list, { contextTokens });
        expect(batches.flat()).toEqual(list);
        for (const b of batches) expect(b.length).toBeGreaterThan(0);
      }),
    );
  });

  it('fits every multi-segment batch, its prompt and its reply inside the context', () => {
    fc.assert(
      fc.property(items, fc.integer({ min: 2_000, max: 64_000 }), (list, contextTokens) => {
        for (const batch of planTranslationBatches(list, { contextTokens, maxSegments: 40 })) {
          expect(batch.length).toBeLessThanOrEqual(40);
          if (batch.length === 1) continue; // a lone over-long segment gets a batch of its own
          const prompt = estimateMessagesTokens(translationMessages('fr', batch));
          expect(prompt + translationReplyTokens(batch)).toBeLessThanOrEqual(contextTokens);
        }
      }),
    );
  });

  it('makes more, smaller batches for a smaller context', () => {
    const list: TranslationItem[] = Array.from({ length: 200 }, (_, id) => ({ id, text: 'a sentence of about forty characters long' }));
    expect(planTranslationBatches(list, { contextTokens: 2_000 }).length).toBeGreaterThan(planTranslationBatches(list, { contextTokens: 32_000 }).length);
  });
});

describe('checkTranslationReply', () => {
  const batch = [{ id: 3, text: 'hello' }, { id: 4, text: 'world' }];

  it('accepts the same ids in any order and trims texts', () => {
    const check = checkTranslationReply('{"segments":[{"id":4,"text":" monde "},{"id":3,"text":"bonjour"}]}', batch);
    expect(check).toEqual({ ok: true, texts: new Map([[4, 'monde'], [3, 'bonjour']]) });
  });

  it('accepts JSON inside a Markdown fence', () => {
    expect(checkTranslationReply('```json\n{"segments":[{"id":3,"text":"a"},{"id":4,"text":"b"}]}\n```', batch).ok).toBe(true);
  });

  it.each([
    ['not JSON', 'Sure! {"segments": [', /not valid JSON/],
    ['no segments array', '{"translations":[]}', /no "segments" array/],
    ['a missing segment', '{"segments":[{"id":3,"text":"a"}]}', /expected 2 segments, got 1/],
    ['an extra segment', '{"segments":[{"id":3,"text":"a"},{"id":4,"text":"b"},{"id":5,"text":"c"}]}', /expected 2 segments, got 3/],
    ['an unknown id', '{"segments":[{"id":3,"text":"a"},{"id":9,"text":"b"}]}', /unexpected segment id 9/],
    ['a duplicated id', '{"segments":[{"id":3,"text":"a"},{"id":3,"text":"b"}]}', /appears twice/],
    ['an empty text', '{"segments":[{"id":3,"text":"  "},{"id":4,"text":"b"}]}', /segment 3 has an empty text/],
    ['a string id', '{"segments":[{"id":"3","text":"a"},{"id":4,"text":"b"}]}', /unexpected segment id "3"/],
  ])('fails when the reply has %s', (_what, reply, reason) => {
    const check = checkTranslationReply(reply, batch);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(reason);
  });
});
