import { fileURLToPath } from 'node:url';
import { buildMemoryApp } from '../beacon.js';

/**
 * Prints the OpenAPI document the server serves at /openapi.json, for `npm run openapi`
 * to commit as openapi/openapi.json (a test fails when the two differ).
 */
export async function openapiDocument(): Promise<unknown> {
  const app = await buildMemoryApp();
  try {
    return app.swagger();
  } finally {
    await app.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await openapiDocument(), null, 2)}\n`);
}
