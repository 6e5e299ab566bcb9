import { Agent, request as httpRequest } from 'node:http';
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
export async function registerFleet(url: string, fleet: Fleet, concurrency: number): Promise<void> {
  await registerInstances(url, fleet.instances, concurrency, (n) => ({ path: instancePath(fleet, n), body: REGISTRATION_BODY }));
}

/**
 * Registers instances 0 … count-1 as `registration(n)` describes them, each answered 201 Created.
 * node:http with keep-alive rather than fetch: fetch costs the client about twice the CPU, which
 * made it, not Beacon, the limit when registering 100,000 instances.
 */
export async function registerInstances(
  url: string,
  count: number,
  concurrency: number,
  registration: (n: number) => Registration,
): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const { path, body } = registration(next++);
      const { status, text } = await put(agent, `${url}${path}`, body);
      if (status !== 201) throw new Error(`registering ${path} answered ${status}: ${text}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
}

function put(agent: Agent, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'PUT',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
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
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
  const samples = text.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
  if (samples.length === 0) throw new Error(`/metrics has no ${name}`);
  return samples.reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
