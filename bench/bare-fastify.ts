import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The baseline: fastify 5 with no plugins, no logger, no schemas, and one PUT route shaped like
 * Beacon's heartbeat, answering an instance-shaped JSON object of about the same size. Whatever
 * Beacon's heartbeats cost beyond this is Beacon's own work. Run as its own process by the bench.
 */
// Given a certificate and its key (`bare-fastify.js CERT KEY`) it serves HTTPS: the platform's
// own cost of TLS, the reference for Beacon's HTTPS-vs-HTTP ratio.
const [cert, key] = process.argv.slice(2);
// One route, the same either way: typed as the plain server's app.
const app = (cert && key ? Fastify({ logger: false, https: { cert: readFileSync(cert), key: readFileSync(key) } }) : Fastify({ logger: false })) as unknown as FastifyInstance;

const startedAt = new Date().toISOString();

app.put<{ Params: { service: string; id: string } }>('/v1/services/:service/instances/:id/heartbeat', async (request) => {
  const now = Date.now();
  return {
    service: request.params.service,
    id: request.params.id,
    address: '10.0.0.1',
    port: 8080,
    weight: 1,
    tags: ['http'],
    meta: { version: '1.4.2' },
    ttl: 60,
    deregisterAfter: 300,
    status: 'passing',
    output: '',
    maintenanceReason: null,
    registeredAt: startedAt,
    lastHeartbeatAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 60_000).toISOString(),
  };
});

const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`bare fastify listening on ${url}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
