import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real node:http upstream on loopback that counts what it serves. */
export interface Backend {
  name: string;
  port: number;
  server: Server;
  /** Requests answered since start. */
  hits: number;
  /** The status plain requests get (default 200); set to 500 to make the backend fail. */
  status: number;
  /** Stops at once, cutting connections in flight, as a crash would. */
  kill(): Promise<void>;
}

export type BackendHandler = (request: IncomingMessage, response: ServerResponse, backend: Backend) => void;

/** Answers `{"backend": name}` with the backend's current status. */
const answerName: BackendHandler = (_request, response, backend) => {
  response.writeHead(backend.status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ backend: backend.name }));
};

export async function startBackend(name: string, handler: BackendHandler = answerName, port = 0): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    server: createServer((request, response) => {
      backend.hits += 1;
      handler(request, response, backend);
    }),
    hits: 0,
    status: 200,
    async kill() {
      const closed = once(backend.server, 'close');
      backend.server.close();
      backend.server.closeAllConnections();
      await closed;
    },
  };
  backend.server.listen(port, '127.0.0.1');
  await once(backend.server, 'listening');
  backend.port = (backend.server.address() as AddressInfo).port;
  return backend;
}
