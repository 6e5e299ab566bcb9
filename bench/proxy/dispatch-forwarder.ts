import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Dispatcher, Pool } from 'undici';
import { withoutConnectionHeaders } from './connection-headers.js';

/**
 * The second Node reference of the proxy bench: the minimal forwarder without undici's
 * `request` layer. `pool.dispatch` with a handler that writes the status, headers and body
 * straight into the node:http response: no Readable per answer, no promise, no pipeline.
 * Round-robin over one undici Pool per backend; no registry, breakers, retries or metrics.
 * The handler is undici 7's (`onRequestStart` … `onResponseError`), not the deprecated
 * `onConnect`/`onHeaders` one that undici 7 still accepts.
 *
 * Usage: node dispatch-forwarder.js <backend url>...
 */
const pools = process.argv.slice(2).map((url) => new Pool(url));
if (pools.length === 0) throw new Error('usage: dispatch-forwarder.js <backend url>...');

/** Copies one upstream answer into `response`, pausing the upstream while the client is slow. */
function answerInto(response: ServerResponse): Dispatcher.DispatchHandler {
  return {
    onRequestStart(controller) {
      response.once('close', () => {
        if (!response.writableFinished) controller.abort(new Error('client went away'));
      });
    },
    onResponseStart(_controller, statusCode, headers) {
      response.writeHead(statusCode, withoutConnectionHeaders(headers));
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
        process.stderr.write(`dispatch forwarder: answer cut: ${error.message}\n`);
        response.destroy(error);
        return;
      }
      process.stderr.write(`dispatch forwarder: upstream failed: ${error.message}\n`);
      response.writeHead(502).end();
    },
  };
}

let next = 0;
const server = createServer((request, response) => {
  const pool = pools[next]!;
  next = (next + 1) % pools.length;
  const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    { path: request.url!, method: request.method as Dispatcher.HttpMethod, headers: withoutConnectionHeaders(request.headers), body: hasBody ? request : null },
    answerInto(response),
  );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`dispatch forwarder listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  server.close();
  void Promise.all(pools.map((pool) => pool.close())).then(() => process.exit(0));
});
