import { fileURLToPath } from 'node:url';
import { version } from '../beacon.js';
import { Metrics } from '../metrics/metrics.js';
import { Registry } from '../registry/registry.js';
import { systemClock } from '../../contract/clock.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { buildApp } from './app.js';

/**
 * Prints the OpenAPI document the server serves at /openapi.json, for `npm run openapi`
 * to commit as openapi/openapi.json (a test fails when the two differ).
 */
export async function openapiDocument(): Promise<unknown> {
  const store = new SqliteStore({ path: ':memory:' });
  const app = await buildApp({ registry: new Registry({ store, clock: systemClock }), metrics: new Metrics(), logLevel: false, version });
  try {
    return app.swagger();
  } finally {
    await app.close();
    store.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await openapiDocument(), null, 2)}\n`);
}
