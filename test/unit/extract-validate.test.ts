import { describe, expect, it } from 'vitest';
import { compileExtractionSchema } from '../../shared/core/extract-validate.js';

const schema = {
  type: 'object',
  required: ['actionItems'],
  properties: { actionItems: { type: 'array', items: { type: 'object', required: ['task', 'at'], properties: { task: { type: 'string' }, at: { type: 'string' } } } } },
};

describe('compileExtractionSchema', () => {
  it('accepts JSON matching the schema (fenced or not)', () => {
    const check = compileExtractionSchema(schema);
    expect(check('{"actionItems":[{"task":"send notes","at":"00:01:02"}]}')).toEqual({ ok: true, data: { actionItems: [{ task: 'send notes', at: '00:01:02' }] } });
    expect(check('```json\n{"actionItems":[]}\n```').ok).toBe(true);
  });

  it('fails with readable errors when the JSON does not match', () => {
    const check = compileExtractionSchema(schema)('{"actionItems":[{"task":1}]}');
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.errors).toEqual(expect.arrayContaining(['/actionItems/0 must have required property \'at\'', '/actionItems/0/task must be string']));
  });

  it('fails when the reply is not JSON', () => {
    expect(compileExtractionSchema(schema)('here you go')).toEqual({ ok: false, errors: ['the reply is not valid JSON'] });
  });

  it('fails on a schema that is not a JSON Schema', () => {
    expect(() => compileExtractionSchema([1, 2])).toThrow(/must be a JSON object/);
    expect(() => compileExtractionSchema({ type: 'no-such-type' })).toThrow(/not a valid JSON Schema/);
  });
});
