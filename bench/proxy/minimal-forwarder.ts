import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import { withoutConnectionHeaders } from './connection-headers.js';

/**
 * The Node ceiling of the proxy bench: the simplest correct forwarder on the same parts as
 * `beacon proxy` (a node:http server, one undici Pool per backend), round-robin over the
 * backends. No registry, no breakers, no retries, no metrics, no X-Forwarded-* or Via: whatever
 * `beacon proxy` costs beyond this is its own work.
 *
 * Usage: node minimal-forwarder.js <backend url>...
 */
const pools = process.argv.slice(2).map((url) => new Pool(url));
if (pools.length === 0) throw new Error('usage: minimal-forwarder.js <backend url>...');

let next = 0;
const server = createServer((request, response) => {
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  pool
    .request({
      path: request.url!,
      method: request.method as Dispatcher.HttpMethod,
      headers: withoutConnectionHeaders(request.headers),
      body: hasBody ? request : null,
    })
    .then(
      ({ statusCode, headers, body }) => {
        response.writeHead(statusCode, withoutConnectionHeaders(headers));
        pipeline(body, response, (error) => {
          if (error) process.stderr.write(`minimal forwarder: answer cut: ${error.message}\n`);
        });
      },
      (error: Error) => {
        process.stderr.write(`minimal forwarder: upstream failed: ${error.message}\n`);
        response.writeHead(502).end();
      },
    );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`minimal forwarder listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  server.close();
  void Promise.all(pools.map((pool) => pool.close())).then(() => process.exit(0));
});
