/** A tiny JSON client for tests, over real sockets (Node's fetch). */
export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export function client(baseUrl: string) {
  async function call<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<JsonResponse<T>> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      ...init,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }
  return {
    get: <T = any>(path: string, init?: RequestInit) => call<T>('GET', path, undefined, init),
    put: <T = any>(path: string, body?: unknown) => call<T>('PUT', path, body),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    register: (service: string, id: string, fields: Record<string, unknown> = {}) =>
      call<any>('PUT', `/v1/services/${service}/instances/${id}`, { address: '127.0.0.1', port: 8080, ...fields }),
    heartbeat: (service: string, id: string, body?: unknown) =>
      call<any>('PUT', `/v1/services/${service}/instances/${id}/heartbeat`, body),
    instances: (service: string, query = '') => call<any[]>('GET', `/v1/services/${service}/instances${query}`),
  };
}
