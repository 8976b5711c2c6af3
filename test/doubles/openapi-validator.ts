/**
 * Request validation against the vendors' published OpenAPI documents (copied into test/specs/, see its README),
 * so a provider double refuses exactly what the real service's contract refuses.
 * Documents are parsed once per process (the OpenAI one is 3 MB) and validators are cached.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/** Where the vendor specs live: in the repository, next to this folder (any clone, any folder). */
export const SPEC_DIR = fileURLToPath(new URL('../specs/', import.meta.url));

/** The spec documents the doubles validate against. */
export type SpecName = 'openai' | 'mistral' | 'openrouter';

/** A JSON Schema (object form); loosely typed on purpose. */
export type Schema = Record<string, unknown>;

/** Validates one decoded request body; returns readable errors, empty when valid. */
export interface BodyValidator {
  /** The operation's request schema with `$ref`s resolved at the top level (to read property types). */
  readonly schema: Schema;
  /** Resolve a `$ref` (one level) against the spec document. */
  resolve(schema: unknown): Schema;
  validate(body: unknown): string[];
}

const docs = new Map<SpecName, Schema>();
const validators = new Map<string, BodyValidator>();
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = createAjv();

/**
 * Validator for the request body of `POST {path}` with `contentType` in spec `spec`.
 * With `strictFields` unknown top-level fields are refused even where the spec is open:
 * the real service would silently ignore them and the feature they carry would be lost.
 */
export function specRequestValidator(spec: SpecName, path: string, contentType: string, strictFields = false): BodyValidator {
  const key = `${spec} ${path} ${contentType} ${strictFields}`;
  const cached = validators.get(key);
  if (cached) return cached;
  const doc = loadSpec(spec);
  const operation = pointer(doc, ['paths', path, 'post']) as Schema | undefined;
  const media = pointer(operation, ['requestBody', 'content', contentType, 'schema']);
  if (!media) throw new Error(`spec ${spec} has no ${contentType} request body for POST ${path}`);
  const validator = schemaValidator(media as Schema, doc, strictFields);
  validators.set(key, validator);
  return validator;
}

/** Validator for a hand-written schema (vendors without a spec, e.g. DeepInfra). */
export function schemaValidator(schema: Schema, doc: Schema = {}, strictFields = false): BodyValidator {
  const resolve = (s: unknown): Schema => resolveRef(doc, s);
  const top = resolve(schema);
  const root: Schema = {
    ...(strictFields ? { ...top, additionalProperties: false } : schema),
    components: { schemas: reachableComponents(doc, schema) },
  };
  const compiled: ValidateFunction = ajv.compile(root);
  return {
    schema: top,
    resolve,
    validate(body) {
      if (compiled(body)) return [];
      return (compiled.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'invalid'}${describeParams(e.params)}`);
    },
  };
}

function loadSpec(name: SpecName): Schema {
  let doc = docs.get(name);
  if (!doc) {
    doc = parse(readFileSync(`${SPEC_DIR}${name}.openapi.yaml`, 'utf8'), { maxAliasCount: -1 }) as Schema;
    docs.set(name, doc);
  }
  return doc;
}

function createAjv(): Ajv2020 {
  const instance = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(instance);
  for (const format of ['binary', 'double', 'float', 'int32', 'int64', 'password', 'byte']) {
    if (!instance.formats[format]) instance.addFormat(format, true);
  }
  return instance;
}

/** Copy of every `#/components/schemas/*` reachable from `schema`, so `$ref`s resolve in a small root. */
function reachableComponents(doc: Schema, schema: unknown): Schema {
  const out: Schema = {};
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        const name = v.slice('#/components/schemas/'.length);
        if (!(name in out)) {
          out[name] = pointer(doc, ['components', 'schemas', name]);
          visit(out[name]);
        }
      } else visit(v);
    }
  };
  visit(schema);
  return out;
}

function resolveRef(doc: Schema, schema: unknown): Schema {
  let s = schema as Schema;
  for (let i = 0; i < 10 && typeof s?.$ref === 'string'; i += 1) {
    s = pointer(doc, (s.$ref as string).replace(/^#\//, '').split('/').map(unescapePointer)) as Schema;
  }
  return s ?? {};
}

function pointer(node: unknown, parts: readonly string[]): unknown {
  let cur = node;
  for (const p of parts) cur = typeof cur === 'object' && cur !== null ? (cur as Schema)[p] : undefined;
  return cur;
}

function unescapePointer(part: string): string {
  return part.replace(/~1/g, '/').replace(/~0/g, '~');
}

function describeParams(params: Record<string, unknown>): string {
  const extra = params.additionalProperty ?? params.allowedValues ?? params.pattern;
  return extra === undefined ? '' : ` (${JSON.stringify(extra)})`;
}
