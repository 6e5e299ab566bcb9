import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { CertificateFiles } from '../../clients/tls/openssl-ca.js';

/** What a TLS backend needs: its certificate and key, and the CA clients must be signed by (then a client certificate is required). */
export interface TlsBackendOptions {
  files: CertificateFiles;
  clientCa?: string;
}

/** A TLS instance on loopback that counts what it serves. */
export interface TlsBackend {
  name: string;
  port: number;
  /** HTTPS: requests answered; TLS echo: lines answered. */
  hits: number;
  close(): Promise<void>;
}

async function serverOptions(options: TlsBackendOptions) {
  const tls = { cert: await readFile(options.files.cert), key: await readFile(options.files.key) };
  return options.clientCa ? { ...tls, ca: await readFile(options.clientCa), requestCert: true, rejectUnauthorized: true } : tls;
}

async function listening(name: string, server: Server, backend: { hits: number }, sockets: Set<Socket>): Promise<TlsBackend> {
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(backend, {
    name,
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  });
}

/** An HTTPS instance (node:https) answering `{"backend": name, "proto": <x-forwarded-proto>}`. */
export async function startHttpsBackend(name: string, options: TlsBackendOptions): Promise<TlsBackend> {
  const backend = { hits: 0 };
  const server = createHttpsServer(await serverOptions(options), (request, response) => {
    backend.hits += 1;
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ backend: name, proto: request.headers['x-forwarded-proto'] }));
    });
  });
  return listening(name, server, backend, new Set());
}

/** A TLS instance (node:tls) that answers each chunk with `<name>:<chunk>`. */
export async function startTlsEcho(name: string, options: TlsBackendOptions): Promise<TlsBackend> {
  const backend = { hits: 0 };
  const server = createTlsServer(await serverOptions(options), (socket) => {
    socket.on('data', (data) => {
      backend.hits += 1;
      socket.write(`${name}:${data}`);
    });
    socket.on('error', () => socket.destroy());
  });
  return listening(name, server, backend, new Set());
}

/** Who a TLS client is: the CA it trusts, and its own certificate if it shows one. */
export interface TlsClient {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** One HTTPS request (a fresh connection); the status and body, or `error: CODE` when the connection failed. */
export async function httpsCall(port: number, client: TlsClient, init: { method?: string; body?: string; host?: string } = {}): Promise<{ status: number; body: string } | string> {
  const request = httpsRequest({
    host: '127.0.0.1',
    port,
    path: '/',
    method: init.method ?? 'GET',
    agent: false,
    ...client,
    headers: init.host ? { host: init.host } : {},
    // The certificate is for 127.0.0.1 whatever Host says.
    servername: '',
    timeout: 5000,
  });
  request.on('timeout', () => request.destroy(new Error('timed out')));
  try {
    request.end(init.body);
    const [response] = (await once(request, 'response')) as [import('node:http').IncomingMessage];
    let body = '';
    for await (const chunk of response) body += chunk;
    return { status: response.statusCode!, body };
  } catch (error) {
    return `error: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/** Opens a TLS connection, sends `line` and answers what came back, or `error: CODE`. */
export async function tlsExchange(port: number, client: TlsClient, line: string): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ...client });
  socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
  try {
    await once(socket, 'secureConnect');
    socket.write(line);
    const [data] = (await once(socket, 'data')) as [Buffer];
    return data.toString();
  } catch (error) {
    return `error: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  } finally {
    socket.destroy();
  }
}
