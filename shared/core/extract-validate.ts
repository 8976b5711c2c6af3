/** Checks extracted JSON against the user's JSON Schema (ajv), with errors phrased to be sent back to the model. */
import { Ajv, type ValidateFunction } from 'ajv';

/** Valid data, or the reasons it is not. */
export type ExtractionCheck = { readonly ok: true; readonly data: unknown } | { readonly ok: false; readonly errors: readonly string[] };

/** A compiled user schema. Throws `Error` naming the problem when the schema itself is not valid JSON Schema. */
export function compileExtractionSchema(schema: unknown): (reply: string) => ExtractionCheck {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new Error('the extraction schema must be a JSON object (a JSON Schema)');
  }
  const ajv = new Ajv({ allErrors: true, strict: false });
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as Record<string, unknown>);
  } catch (err) {
    throw new Error(`the extraction schema is not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`);
  }
  return (reply) => {
    let data: unknown;
    try {
      data = JSON.parse(reply.replace(/^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/, '$1'));
    } catch {
      return { ok: false, errors: ['the reply is not valid JSON'] };
    }
    if (validate(data)) return { ok: true, data };
    return { ok: false, errors: (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`) };
  };
}

/** Messages asking for data matching the schema, from a timestamped transcript. */
export function extractionMessages(transcript: string, schema: unknown) {
  return [
    {
      role: 'system' as const,
      content:
        'Extract information from the transcript into JSON that matches the given JSON Schema exactly. ' +
        'Use only what the transcript says. Reply with the JSON only.\nJSON Schema:\n' +
        JSON.stringify(schema),
    },
    { role: 'user' as const, content: `Transcript:\n${transcript}` },
  ];
}
