/**
 * Checks requests and responses against api/openapi.yaml (OpenAPI 3.1, JSON Schema 2020-12) with ajv.
 * Every API test routes what it sends and gets through here, so the document cannot drift from the code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

type Json = Record<string, any>;
const DOC_ID = 'voxpipe-api';
const doc = parse(readFileSync(join(process.cwd(), 'api', 'openapi.yaml'), 'utf8')) as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: DOC_ID, components: rewriteRefs(doc.components) });

/** The OpenAPI document, parsed. */
export const openapi = doc;

/** Throws unless `body` is a valid request body of `method path` (path as templated in the document). */
export function assertValidRequest(method: string, path: string, body: unknown): void {
  const op = operation(method, path);
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path}: no JSON request body in the document`);
  check(`${method} ${path} request`, schema, body);
}

/** True when `body` is a valid request body (for tests of what the document rejects). */
export function isValidRequest(method: string, path: string, body: unknown): boolean {
  try {
    assertValidRequest(method, path, body);
    return true;
  } catch {
    return false;
  }
}

/** Throws unless the status is documented for `method path` and `body` matches its schema. */
export function assertValidResponse(method: string, path: string, status: number, body: unknown): void {
  const op = operation(method, path);
  let response = op.responses?.[String(status)];
  if (!response) throw new Error(`${method} ${path}: status ${status} is not documented (body: ${JSON.stringify(body)})`);
  if (response.$ref) response = resolve(response.$ref);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} ${status}: no JSON schema`);
  check(`${method} ${path} ${status}`, schema, body);
}

function operation(method: string, path: string): Json {
  const op = doc.paths?.[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${path} is not in api/openapi.yaml`);
  return op;
}

function check(label: string, schema: Json, value: unknown): void {
  const validate = ajv.compile(rewriteRefs(schema));
  if (!validate(value)) throw new Error(`${label} does not match api/openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value, null, 2)}`);
}

function resolve(ref: string): Json {
  return ref.replace(/^#\//, '').split('/').reduce<Json>((node, part) => node[part], doc);
}

function rewriteRefs(node: unknown): any {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : rewriteRefs(v)]),
    );
  }
  return node;
}
