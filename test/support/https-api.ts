import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';
import { Agent, request } from 'undici';
import type { CertificateFiles } from '../../clients/tls/openssl-ca.js';

/** What a client trusts and shows: the CA file, and its own certificate (for --tls-verify-clients). */
export interface ClientTls {
  ca?: string;
  identity?: CertificateFiles;
}

export function tlsOptions({ ca, identity }: ClientTls): ConnectionOptions {
  return {
    ...(ca ? { ca: readFileSync(ca) } : {}),
    ...(identity ? { cert: readFileSync(identity.cert), key: readFileSync(identity.key) } : {}),
  };
}

/** An undici agent that trusts `ca` and shows `identity`, one kept-alive connection per origin unless told. */
export function httpsAgent(client: ClientTls, connections = 1): Agent {
  return new Agent({ connections, connect: tlsOptions(client) });
}

/** A JSON request through `agent`: status and parsed body. */
export async function callJson(agent: Agent, method: 'GET' | 'PUT', url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const answer = await request(url, {
    method,
    dispatcher: agent,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await answer.body.text();
  return { status: answer.statusCode, body: text ? JSON.parse(text) : undefined };
}

/** The Prometheus samples of one metric, label set → value, read over HTTPS. */
export async function scrapeOver(agent: Agent, baseUrl: string, metric: string): Promise<Map<string, number>> {
  const text = await (await request(`${baseUrl}/metrics`, { dispatcher: agent })).body.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${metric}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}

/**
 * One request over a fresh TLS connection, by hand: the answer's status line, or the code of
 * the error that ended the connection. Under TLS 1.3 a client learns that the server refused
 * its certificate only from the alert that follows the handshake, so the request is written and
 * whatever comes first (an answer or that alert) is the outcome.
 */
export async function tlsOutcome(port: number, client: ClientTls & { servername?: string }): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, servername: client.servername ?? 'localhost', ...tlsOptions(client) });
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  try {
    await once(socket, 'secureConnect');
    socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    await once(socket, 'close');
    return answer.split('\r\n')[0] || 'closed without an answer';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  } finally {
    socket.destroy();
  }
}

/** The SHA-256 fingerprint of the certificate a new connection is served. */
export async function servedFingerprint(port: number, ca: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca) });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerCertificate().fingerprint256;
  } finally {
    socket.destroy();
  }
}
