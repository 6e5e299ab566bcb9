import { Agent, createServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';

/**
 * http-proxy (npm), as it is commonly used: one proxy server, a keep-alive agent (without one
 * it closes every upstream connection), and a target per request, round-robin over the backends.
 *
 * Usage: node http-proxy-forwarder.js <backend url>...
 */
const targets = process.argv.slice(2);
if (targets.length === 0) throw new Error('usage: http-proxy-forwarder.js <backend url>...');

const proxy = httpProxy.createProxyServer({ agent: new Agent({ keepAlive: true }) });
proxy.on('error', (error, _request, response) => {
  process.stderr.write(`http-proxy: upstream failed: ${error.message}\n`);
  if (response instanceof ServerResponse && !response.headersSent) response.writeHead(502).end();
  else response.destroy();
});

let next = 0;
const server = createServer((request, response) => {
  const target = targets[next]!;
  next = (next + 1) % targets.length;
  proxy.web(request, response, { target });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http-proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  server.close();
  proxy.close();
  process.exit(0);
});
