import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, Pool } from 'undici';
import { answerHead, requestHeaders } from '../../clients/proxy/forwarded-headers.js';
import { acceptableRequestId, newRequestId } from '../../clients/proxy/request-id.js';
import { withoutConnectionHeaders } from './connection-headers.js';

/**
 * The second Node reference of the proxy bench: the minimal forwarder without undici's
 * `request` layer. `pool.dispatch` with a handler that writes the status, headers and body
 * straight into the node:http response: no Readable per answer, no promise, no pipeline.
 * Round-robin over one undici Pool per backend; no registry, breakers, retries or metrics.
 * The handler is undici 7's (`onRequestStart` … `onResponseError`), not the deprecated
 * `onConnect`/`onHeaders` one that undici 7 still accepts.
 *
 * With `--forwarding-headers` it also does the header work a proxy owes (issue 14 asks for the
 * request id; RFC 9110 §7.6.3 for Via), with `beacon proxy`'s own functions: the client's
 * `x-request-id` kept or one made, X-Forwarded-For/-Proto and Via added upstream, Via and the
 * request id added downstream, hop-by-hop fields dropped both ways. Still no registry,
 * breakers, retries or metrics: the reference for what those cost `beacon proxy`.
 *
 * Usage: node dispatch-forwarder.js [--forwarding-headers] <backend url>...
 */
const FORWARDING_HEADERS = '--forwarding-headers';
const forwardingHeaders = process.argv[2] === FORWARDING_HEADERS;
const pools = process.argv.slice(forwardingHeaders ? 3 : 2).map((url) => new Pool(url));
if (pools.length === 0) throw new Error(`usage: dispatch-forwarder.js [${FORWARDING_HEADERS}] <backend url>...`);
const name = forwardingHeaders ? 'dispatch forwarder with forwarding headers' : 'dispatch forwarder';

/**
 * Copies one upstream answer into `response`, pausing the upstream while the client is slow;
 * with a `requestId`, through the forwarding headers (from undici's raw header list).
 */
function answerInto(response: ServerResponse, requestId?: string): Dispatcher.DispatchHandler {
  return {
    onRequestStart(controller) {
      response.once('close', () => {
        if (!response.writableFinished) controller.abort(new Error('client went away'));
      });
    },
    onResponseStart(controller, statusCode, headers) {
      if (requestId === undefined) response.writeHead(statusCode, withoutConnectionHeaders(headers));
      else response.writeHead(statusCode, answerHead(controller.rawHeaders as Buffer[], requestId).headers);
    },
    onResponseData(controller, chunk) {
      if (!response.write(chunk)) {
        controller.pause();
        response.once('drain', () => controller.resume());
      }
    },
    onResponseEnd() {
      response.end();
    },
    onResponseError(_controller, error) {
      if (response.headersSent) {
        process.stderr.write(`${name}: answer cut: ${error.message}\n`);
        response.destroy(error);
        return;
      }
      process.stderr.write(`${name}: upstream failed: ${error.message}\n`);
      response.writeHead(502).end();
    },
  };
}

let next = 0;
const server = createServer((request, response) => {
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  const body = hasBody ? request : null;
  const { method, url: path } = request as { method: Dispatcher.HttpMethod; url: string };
  if (!forwardingHeaders) {
    pool.dispatch({ path, method, headers: withoutConnectionHeaders(request.headers), body }, answerInto(response));
    return;
  }
  const given = request.headers['x-request-id'];
  const requestId = acceptableRequestId(given) ? given : newRequestId();
  pool.dispatch({ path, method, headers: requestHeaders(request.rawHeaders, request.socket.remoteAddress, requestId), body }, answerInto(response, requestId));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${name} listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  server.close();
  void Promise.all(pools.map((pool) => pool.close())).then(() => process.exit(0));
});
