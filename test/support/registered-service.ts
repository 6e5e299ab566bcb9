import { deregisterOnSignals, RegistryClient } from '../../clients/registry/registry-client.js';

/**
 * A stand-in service for signal tests: registers itself, keeps heartbeating, and deregisters
 * on SIGTERM/SIGINT. Usage: node registered-service.js <registry-url> <service> <id>
 * Prints `registered` once the registry has acknowledged it.
 */
const [registry, service, id] = process.argv.slice(2);
if (registry === undefined || service === undefined || id === undefined) {
  process.stderr.write('usage: registered-service <registry-url> <service> <id>\n');
  process.exit(2);
}
const client = new RegistryClient({ registry, service, id, registration: { address: '127.0.0.1', port: 9000, ttl: 30 } });
deregisterOnSignals(client);
await client.start();
process.stdout.write('registered\n');
