import { Agent, request } from 'undici';
import { z } from 'zod';
import { ClusterView } from '../../contract/cluster.js';
import { Instance, ServiceSummary } from '../../contract/instance.js';
import { TrafficPolicy } from '../../contract/traffic-policy.js';
import type { TlsMaterial } from '../tls/tls-files.js';
import { RegistryClientError } from './errors.js';
import type { ApiHeartbeat, ApiInstance, ApiMaintenanceChange, ApiRegistration, ApiServiceSummary } from './openapi-contract.js';
import { closedBeforeAnswer, probeTls, tlsFailureOf } from './tls-failure.js';

export interface RegistryApiOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8500` (a path prefix is kept). */
  registry: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** Connect timeout, and the default time to wait for an answer. */
  requestTimeoutMs: number;
  /**
   * For an https:// registry: the CA to trust instead of the system's (`ca`), and a client
   * certificate for a registry that asks for one (`cert` and `key`). Read them with
   * `readTlsFiles`. Ignored over http://.
   */
  tls?: TlsMaterial;
}

/** A list answer: the instances and the `X-Beacon-Index` to block on next. */
export interface InstanceList {
  instances: ApiInstance[];
  index: number;
}

/** The service list with its `X-Beacon-Index`. */
export interface ServiceList {
  services: ApiServiceSummary[];
  index: number;
}

/** A service's traffic policy (undefined: it has none) and the `X-Beacon-Index` to block on next. */
export interface PolicyAnswer {
  policy: TrafficPolicy | undefined;
  index: number;
}

export interface ListQuery {
  /** Block until the list's index passes this (a blocking query); absent: answer at once. */
  index?: number;
  /** How long the registry may block, with `index`. */
  waitSeconds?: number;
  /** How long to wait for the answer; the default is `requestTimeoutMs`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface InstanceListQuery extends ListQuery {
  healthy?: boolean;
  tag?: string;
}

interface Exchange {
  method: 'GET' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A 404 means the registry does not know the instance (not a missing route). */
  aboutInstance?: boolean;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const INDEX_HEADER = 'x-beacon-index';
const InstanceListBody = z.array(Instance);
const ServiceListBody = z.array(ServiceSummary);

/**
 * The registry's HTTP API as typed calls, over one keep-alive connection pool. It turns every
 * outcome into an answer or a RegistryClientError with a code; deciding whether to retry is
 * the caller's job (RegistryClient, InstanceWatcher, the CLI). Bodies and answers have the
 * OpenAPI document's types (openapi-contract.ts), checked against it by `tsc`.
 */
export class RegistryApi {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(private readonly options: RegistryApiOptions) {
    this.base = parseBaseUrl(options.registry);
    // Keep-alive matters: a heartbeat every ttl/3 would otherwise pay a TCP handshake each time
    // (and over https a TLS handshake on top). Without `tls` the options are exactly plain http's.
    this.agent = new Agent({ connect: { timeout: options.requestTimeoutMs, ...(options.tls ?? {}) } });
  }

  get url(): string {
    return this.base.href;
  }

  async register(service: string, id: string, registration: ApiRegistration): Promise<ApiInstance> {
    return this.instanceWrite({ method: 'PUT', path: instancePath(service, id), body: registration });
  }

  async heartbeat(service: string, id: string, body: ApiHeartbeat = {}): Promise<ApiInstance> {
    // A bare heartbeat carries no body at all: the cheapest request the registry serves.
    const hasBody = body.status !== undefined || body.output !== undefined;
    return this.instanceWrite({ method: 'PUT', path: `${instancePath(service, id)}/heartbeat`, aboutInstance: true, ...(hasBody ? { body } : {}) });
  }

  async maintenance(service: string, id: string, change: ApiMaintenanceChange): Promise<ApiInstance> {
    return this.instanceWrite({ method: 'PUT', path: `${instancePath(service, id)}/maintenance`, body: change, aboutInstance: true });
  }

  /**
   * Resolves with false when the registry did not know the instance (nothing to do); with
   * `mustExist`, rejects with `not_registered` and the registry's message instead.
   */
  async deregister(service: string, id: string, { mustExist = false } = {}): Promise<boolean> {
    const exchange: Exchange = { method: 'DELETE', path: instancePath(service, id), aboutInstance: true };
    const answer = await this.send(exchange);
    if (answer.status === 404 && !mustExist) return false;
    this.ok(exchange, answer);
    return true;
  }

  async services(query: ListQuery = {}): Promise<ServiceList> {
    const { items, index } = await this.list('/v1/services', new URLSearchParams(), query, ServiceListBody);
    return { services: items, index };
  }

  async instances(service: string, query: InstanceListQuery = {}): Promise<InstanceList> {
    const search = new URLSearchParams();
    if (query.healthy) search.set('healthy', 'true');
    if (query.tag !== undefined) search.set('tag', query.tag);
    const { items, index } = await this.list(`/v1/services/${encodeURIComponent(service)}/instances`, search, query, InstanceListBody);
    return { instances: items, index };
  }

  /** `GET /v1/services/NAME/policy`, blocking when the query has an index; a 404 is "no policy". */
  async policy(service: string, query: ListQuery = {}): Promise<PolicyAnswer> {
    const exchange = blockingExchange(policyPath(service), new URLSearchParams(), query);
    const answer = await this.send(exchange);
    if (answer.status === 404 && answer.headers[INDEX_HEADER] !== undefined) return { policy: undefined, index: indexOf(exchange, answer) };
    return { policy: parseAnswer(exchange, this.ok(exchange, answer), TrafficPolicy), index: indexOf(exchange, answer) };
  }

  async setPolicy(service: string, policy: TrafficPolicy): Promise<TrafficPolicy> {
    const exchange: Exchange = { method: 'PUT', path: policyPath(service), body: policy };
    return parseAnswer(exchange, this.ok(exchange, await this.send(exchange)), TrafficPolicy);
  }

  /** False when the service had no policy. */
  async deletePolicy(service: string): Promise<boolean> {
    const exchange: Exchange = { method: 'DELETE', path: policyPath(service) };
    const answer = await this.send(exchange);
    if (answer.status === 404 && answer.headers[INDEX_HEADER] !== undefined) return false;
    this.ok(exchange, answer);
    return true;
  }

  /** `GET /v1/cluster`: the store and the nodes serving this registry. */
  async cluster(): Promise<ClusterView> {
    const exchange: Exchange = { method: 'GET', path: '/v1/cluster' };
    return parseAnswer(exchange, this.ok(exchange, await this.send(exchange)), ClusterView);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async instanceWrite(exchange: Exchange): Promise<ApiInstance> {
    return parseAnswer(exchange, this.ok(exchange, await this.send(exchange)), Instance);
  }

  /** A list endpoint: its answer and its `X-Beacon-Index`, blocking when the query has an index. */
  private async list<T>(path: string, search: URLSearchParams, query: ListQuery, schema: z.ZodType<T[]>): Promise<{ items: T[]; index: number }> {
    const exchange = blockingExchange(path, search, query);
    const answer = this.ok(exchange, await this.send(exchange));
    return { items: parseAnswer(exchange, answer, schema), index: indexOf(exchange, answer) };
  }

  private async send(exchange: Exchange): Promise<Answer> {
    const timeoutMs = exchange.timeoutMs ?? this.options.requestTimeoutMs;
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    if (exchange.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await request(new URL(exchange.path.slice(1), this.base), {
        method: exchange.method,
        headers,
        body: exchange.body === undefined ? null : JSON.stringify(exchange.body),
        dispatcher: this.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: exchange.signal ?? null,
      });
      // Always read the body: an unread one holds its connection out of the keep-alive pool.
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } catch (error) {
      if (exchange.signal?.aborted) throw new RegistryClientError('closed', `${describe(exchange)}: cancelled`, { cause: error });
      const tls = tlsFailureOf(error) ?? (closedBeforeAnswer(error) ? await probeTls(this.base, this.options.tls, this.options.requestTimeoutMs) : undefined);
      if (tls) throw new RegistryClientError('tls', `registry ${this.base.origin} (${describe(exchange)}): ${tls.reason}`, { cause: error, remedy: tls.remedy });
      const code = (error as { code?: unknown }).code;
      const reason = `${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`;
      throw new RegistryClientError('unreachable', `registry ${this.base.origin} unreachable (${describe(exchange)}): ${reason}`, { cause: error });
    }
  }

  private ok(exchange: Exchange, answer: Answer): Answer {
    if (answer.status >= 200 && answer.status < 300) return answer;
    const reason = `registry answered ${answer.status} to ${describe(exchange)}: ${errorMessage(answer.text)}`;
    const code = answer.status >= 500 ? 'unavailable' : answer.status === 404 && exchange.aboutInstance ? 'not_registered' : 'rejected';
    throw new RegistryClientError(code, reason, { status: answer.status });
  }
}

function parseBaseUrl(registry: string): URL {
  let base: URL;
  try {
    base = new URL(registry);
  } catch (error) {
    throw new RegistryClientError('invalid_options', `registry: must be a URL such as http://127.0.0.1:8500, got ${JSON.stringify(registry)}`, {
      cause: error,
    });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new RegistryClientError('invalid_options', `registry: must be an http: or https: URL, got ${JSON.stringify(registry)}`);
  }
  // Paths are joined relative to the base, so a prefix (`http://gw/beacon`) needs its slash.
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** A GET that blocks when the query has an index (SPEC: blocking queries). */
function blockingExchange(path: string, search: URLSearchParams, query: ListQuery): Exchange {
  if (query.index !== undefined) {
    search.set('index', String(query.index));
    if (query.waitSeconds !== undefined) search.set('wait', `${query.waitSeconds}s`);
  }
  return {
    method: 'GET',
    path: `${path}${search.size > 0 ? `?${search}` : ''}`,
    ...(query.timeoutMs !== undefined ? { timeoutMs: query.timeoutMs } : {}),
    ...(query.signal ? { signal: query.signal } : {}),
  };
}

function indexOf(exchange: Exchange, answer: Answer): number {
  const header = answer.headers[INDEX_HEADER];
  const index = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : Number.NaN;
  if (!Number.isSafeInteger(index)) {
    throw new RegistryClientError('bad_answer', `${describe(exchange)}: the answer has no valid ${INDEX_HEADER} header (got ${String(header)})`);
  }
  return index;
}

function policyPath(service: string): string {
  return `/v1/services/${encodeURIComponent(service)}/policy`;
}

function instancePath(service: string, id: string): string {
  return `/v1/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)}`;
}

function describe(exchange: Exchange): string {
  return `${exchange.method} ${exchange.path}`;
}

/** The `message` of Beacon's `{statusCode, error, message}`, or the start of whatever else came. */
function errorMessage(text: string): string {
  const parsed = safeJson(text);
  if (parsed !== undefined && typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') {
    return (parsed as { message: string }).message;
  }
  return text.length > 0 ? text.slice(0, 200) : '(no body)';
}

function parseAnswer<T>(exchange: Exchange, answer: Answer, schema: z.ZodType<T>): T {
  const json = safeJson(answer.text);
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const problem = json === undefined ? 'not JSON' : result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
  throw new RegistryClientError('bad_answer', `${describe(exchange)}: the registry's answer does not match the API (${problem})`, {
    status: answer.status,
  });
}

/** undefined for text that is not JSON: the callers say what they expected instead. */
function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}
