import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { BACKEND_COUNT, backendBody } from './upstreams.js';

/**
 * The proxy bench's upstreams: three node:http servers in one process of their own, so their
 * CPU is never counted as a proxy's. Each answers any request with its fixed JSON body on a
 * keep-alive connection. Idle connections are kept 60 s, longer than anything in the bench
 * pauses, so no proxy ever reuses a connection a backend has just closed.
 *
 * Usage: node backends.js   (prints "backends listening on <url> <url> <url>")
 *        node backends.js CERT KEY CLIENT_CA   (HTTPS, requiring a client certificate signed by CLIENT_CA: the TLS bench)
 */
const [certPath, keyPath, clientCaPath] = process.argv.slice(2);
const tls = certPath && keyPath && clientCaPath ? { cert: readFileSync(certPath), key: readFileSync(keyPath), ca: readFileSync(clientCaPath), requestCert: true, rejectUnauthorized: true } : undefined;
const servers: Server[] = [];
for (let n = 0; n < BACKEND_COUNT; n++) {
  const body = Buffer.from(backendBody(n));
  // Node's server drops an unread request body itself once the answer is sent.
  const answer: RequestListener = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  };
  const server = tls ? (createHttpsServer({ ...tls, keepAliveTimeout: 60_000 }, answer) as unknown as Server) : createServer({ keepAliveTimeout: 60_000 }, answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
}
const urls = servers.map((server) => `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`);
process.stdout.write(`backends listening on ${urls.join(' ')}\n`);
process.on('SIGTERM', () => {
  for (const server of servers) server.closeAllConnections();
  void Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))).then(() => process.exit(0));
});
