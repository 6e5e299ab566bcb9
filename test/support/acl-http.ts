import type { JsonResponse } from './http.js';

/** A request to a Beacon started with --acl, carrying `secret` as a bearer token (none: no header). */
export async function withToken<T = any>(baseUrl: string, secret: string | undefined, method: string, path: string, body?: unknown): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Creates a token with the management `secret`; resolves with the new token's id and secret. */
export async function createToken(baseUrl: string, secret: string, creation: { kind: string; services?: string[]; description?: string }): Promise<{ id: string; secret: string }> {
  const created = await withToken(baseUrl, secret, 'POST', '/v1/acl/tokens', creation);
  if (created.status !== 201) throw new Error(`creating a ${creation.kind} token: ${created.status} ${JSON.stringify(created.body)}`);
  return { id: created.body.id, secret: created.body.secret };
}
