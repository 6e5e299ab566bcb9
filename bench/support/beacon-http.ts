import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type Fleet, instancePath, REGISTRATION_BODY } from './fleet.js';

const REQUEST_TIMEOUT_MS = 10_000;

/** One instance to register: where to PUT it and the JSON body to send. */
export interface Registration {
  path: string;
  body: string;
}

/**
 * Registers the whole fleet over HTTP with `concurrency` requests in flight; every answer must
 * be 201 Created, or the heartbeats that follow would measure 404s.
 */
export async function registerFleet(url: string, fleet: Fleet, concurrency: number, ca?: Buffer): Promise<void> {
  await registerInstances(url, fleet.instances, concurrency, (n) => ({ path: instancePath(fleet, n), body: REGISTRATION_BODY }), ca);
}

/**
 * Registers instances 0 … count-1 as `registration(n)` describes them, each answered 201 Created.
 * node:http with keep-alive rather than fetch: fetch costs the client enough CPU to make it, not
 * Beacon, the limit when registering 100,000 instances (docs/benchmarks.md).
 */
export async function registerInstances(
  url: string,
  count: number,
  concurrency: number,
  registration: (n: number) => Registration,
  /** For an https:// registry: the CA its certificate is signed by. */
  ca?: Buffer,
): Promise<void> {
  const agent = url.startsWith('https:') ? new HttpsAgent({ keepAlive: true, maxSockets: concurrency, ...(ca ? { ca } : {}) }) : new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const { path, body } = registration(next++);
      const { status, text } = await sendRequest(agent, 'PUT', `${url}${path}`, { body });
      if (status !== 201) throw new Error(`registering ${path} answered ${status}: ${text}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
}

/** What `sendRequest` resolves with: the status, the body as text and the headers. */
export interface HttpAnswer {
  status: number;
  text: string;
  headers: IncomingHttpHeaders;
}

export interface SendOptions {
  /** A JSON body; none: no body. */
  body?: string;
  /** Ends the request (the promise rejects); the default is a 10 s timeout. */
  signal?: AbortSignal;
}

/** One request over `agent` (node:http or node:https by the URL, keep-alive: see registerInstances), the whole answer read. */
export function sendRequest(agent: Agent, method: string, url: string, options: SendOptions = {}): Promise<HttpAnswer> {
  const { body, signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS) } = options;
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, agent, headers, signal });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString(), headers: response.headers }));
    });
    request.end(body);
  });
}

/** The size of the JSON a heartbeat answers with, to show the baseline answers alike. */
export async function heartbeatResponseBytes(url: string, fleet: Fleet): Promise<number> {
  const path = `${instancePath(fleet, 0)}/heartbeat`;
  const response = await fetch(`${url}${path}`, { method: 'PUT', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`heartbeat ${path} answered ${response.status}: ${Buffer.from(body).toString()}`);
  return body.byteLength;
}

/** The sum of every sample of one metric on Beacon's /metrics (all label sets). */
export async function readMetric(url: string, name: string): Promise<number> {
  return (await readMetrics(url, [name]))[name]!;
}

/** Several metrics from one scrape of /metrics, each the sum of its samples (all label sets). */
export async function readMetrics(url: string, names: readonly string[]): Promise<Record<string, number>> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
  const lines = text.split('\n');
  const values: Record<string, number> = {};
  for (const name of names) {
    const samples = lines.filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
    if (samples.length === 0) throw new Error(`/metrics has no ${name}`);
    values[name] = samples.reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }
  return values;
}
