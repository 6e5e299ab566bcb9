import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const committed = fileURLToPath(new URL('../../../openapi/openapi.json', import.meta.url));

test('the committed openapi/openapi.json is exactly what the server serves (run `npm run openapi` after changing the API)', async (t) => {
  const server = await startServerProcess(['--db', join(tempDir(t), 'b.db')]);
  t.after(() => server.stop());
  const served = await (await fetch(`${server.url}/openapi.json`)).json();
  assert.deepEqual(served, JSON.parse(readFileSync(committed, 'utf8')));
});

test('the OpenAPI document describes every route with its validation rules', () => {
  const document = JSON.parse(readFileSync(committed, 'utf8'));
  const register = document.paths['/v1/services/{service}/instances/{id}'].put;
  const body = register.requestBody.content['application/json'].schema;
  assert.deepEqual(body.required, ['address', 'port']);
  assert.equal(body.properties.port.maximum, 65535);
  assert.equal(body.additionalProperties, false);
  assert.deepEqual(Object.keys(register.responses).sort(), ['200', '201', '400', '409', '413', '415', '503']);
  for (const path of ['/v1/services', '/v1/services/{service}/instances', '/v1/services/{service}/instances/{id}/heartbeat', '/v1/services/{service}/instances/{id}/maintenance', '/healthz', '/readyz', '/metrics']) {
    assert.ok(document.paths[path], `${path} is documented`);
  }
});
