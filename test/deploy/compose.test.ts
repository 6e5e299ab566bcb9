import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** No Docker engine runs here, so the compose file is checked by docker-compose itself (.ci/run installs it). */
test('docker-compose.yml is valid and runs beacon server with a persistent volume', () => {
  const config = execFileSync('docker-compose', ['config'], { cwd: root, encoding: 'utf8' });
  assert.match(config, /beacon:/);
  assert.match(config, /- server/);
  assert.match(config, /beacon-data/);
  assert.match(config, /protocol: udp\n\s+published: 8600/);
});
