import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import fastJsonStringify from 'fast-json-stringify';
import { z } from 'zod';

/**
 * Request validation with the routes' zod schemas. Each failure becomes
 * `<part>.<path>: <problem>` (for example `body.port: must be 1-65535`), so the message names
 * the field. Our schemas carry their own wording; this map covers what they leave to zod.
 */
interface FieldProblem {
  instancePath: string;
  message: string;
}

function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${article(issue.expected)}`;
  }
  if (issue.code === 'unrecognized_keys') return `has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  // A bad record key (meta) hides the key schema's own message one level down.
  if (issue.code === 'invalid_key') return issue.issues[0]?.message;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map(String).join(', ')}`;
  return undefined;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data: unknown) => {
    // Fastify hands a missing part over as null; to the schemas it is simply absent.
    const input = data === null ? undefined : data;
    const result = schema.safeParse(input);
    if (result.success) return { value: result.data };
    // Parsing again with the error map only on failure: a per-parse map slows every call many
    // times over, for the rare request that fails (figures in docs/benchmarks.md).
    const described = schema.safeParse(input, { error: describeIssue });
    const problems: FieldProblem[] = (described.error ?? result.error).issues.map((issue) => ({
      instancePath: issue.path.map(String).join('.'),
      message: issue.message,
    }));
    return { error: problems as unknown as Error };
  };

/** Fastify's hook for turning validation problems into one error: `body.port: ...; body.ttl: ...`. */
export function formatProblems(problems: FastifySchemaValidationError[], part: string): Error {
  return new Error(
    problems.map((problem) => `${part}${problem.instancePath ? `.${problem.instancePath}` : ''}: ${problem.message ?? 'is invalid'}`).join('; '),
  );
}

/**
 * Responses are produced by our own typed code, so they are serialized without re-validating:
 * the zod response schemas document the API (OpenAPI), type the handlers at compile time, and
 * compile (as JSON Schema) to fast-json-stringify, faster than JSON.stringify for an instance
 * (docs/benchmarks.md).
 */
export const responseSerializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) => {
  const jsonSchema = z.toJSONSchema(schema, { target: 'draft-7', io: 'output', unrepresentable: 'any' });
  return fastJsonStringify(jsonSchema as Parameters<typeof fastJsonStringify>[0]);
};
