/**
 * Turns a parsed multipart form into the JSON object its OpenAPI schema describes, the way the
 * vendors' servers do: repeated keys (and `key[]` keys) become arrays where the schema says array,
 * numbers and booleans are read from their text, and file parts become a placeholder string.
 */
import type { BodyValidator, Schema } from './openapi-validator.js';

/** A file part, kept aside for the recognizer. */
export interface FormFile {
  readonly field: string;
  readonly name: string;
  readonly type: string;
  readonly bytes: Uint8Array;
}

/** The decoded form: the object to validate, and the files it carried. */
export interface DecodedForm {
  readonly body: Record<string, unknown>;
  readonly files: FormFile[];
}

/**
 * Decode `form` guided by the operation schema in `validator`. With `bracketArrays` (the OpenAI
 * convention) `key[]` fields map to `key`; without it they stay as sent, so a server that expects
 * plain repeated keys (Mistral) sees an unknown field.
 */
export async function decodeForm(form: FormData, validator: BodyValidator, bracketArrays: boolean): Promise<DecodedForm> {
  const props = (validator.schema.properties ?? {}) as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  const files: FormFile[] = [];
  for (const [rawKey, value] of form.entries()) {
    // OpenAI-style `key[]` maps to `key` unless the spec names the bracketed key itself (OpenRouter does).
    const key = !bracketArrays || rawKey in props || !rawKey.endsWith('[]') ? rawKey : rawKey.slice(0, -2);
    const propSchema = validator.resolve(props[key]);
    let decoded: unknown;
    if (typeof value === 'string') decoded = coerce(value, isArray(propSchema, validator) ? itemSchema(propSchema, validator) : propSchema, validator);
    else {
      files.push({ field: key, name: value.name, type: value.type, bytes: new Uint8Array(await value.arrayBuffer()) });
      decoded = `<file ${value.name}>`;
    }
    if (isArray(propSchema, validator) || (bracketArrays && rawKey.endsWith('[]'))) body[key] = [...((body[key] as unknown[]) ?? []), decoded];
    else if (key in body) body[key] = [body[key], decoded].flat(); // a repeated scalar: let validation refuse it
    else body[key] = decoded;
  }
  return { body, files };
}

function coerce(text: string, schema: Schema, v: BodyValidator): unknown {
  const types = typesOf(schema, v);
  if ((types.has('number') || types.has('integer')) && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (types.has('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

function isArray(schema: Schema, v: BodyValidator): boolean {
  return typesOf(schema, v).has('array');
}

function itemSchema(schema: Schema, v: BodyValidator): Schema {
  const arrays = [schema, ...branches(schema, v)].filter((s) => s.type === 'array');
  return v.resolve(arrays[0]?.items);
}

function typesOf(schema: Schema, v: BodyValidator): Set<string> {
  const out = new Set<string>();
  for (const s of [schema, ...branches(schema, v)]) {
    const t = s.type;
    if (typeof t === 'string') out.add(t);
    if (Array.isArray(t)) for (const x of t) out.add(String(x));
  }
  return out;
}

function branches(schema: Schema, v: BodyValidator): Schema[] {
  const list = [schema.anyOf, schema.oneOf].flatMap((b) => (Array.isArray(b) ? b : []));
  return list.map((b) => v.resolve(b));
}
