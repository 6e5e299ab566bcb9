import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { suiteRegistry } from '../../support/suite-registry.js';

const BOOTSTRAP = 'bootstrap-secret-for-cli-tests';

describe('the beacon CLI against a registry with --acl', () => {
  const registry = suiteRegistry(['--db', ':memory:', '--acl', '--acl-bootstrap-token', BOOTSTRAP]);
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { BEACON_REGISTRY: registry.server.url, ...env });

  async function readToken(): Promise<string> {
    const response = await fetch(`${registry.server.url}/v1/acl/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOOTSTRAP}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'read' }),
    });
    return ((await response.json()) as { secret: string }).secret;
  }

  it('without a token: exit 1 with the 401 message; --token or BEACON_TOKEN is sent as a bearer token', async () => {
    const [none, flag, variable] = await Promise.all([
      cli(['services']),
      cli(['register', 'web', 'web-1', '--address', '127.0.0.1', '--port', '8080', '--token', BOOTSTRAP]),
      cli(['services', '--json'], { BEACON_TOKEN: BOOTSTRAP }),
    ]);

    assert.deepEqual([none.code, none.stdout], [1, '']);
    assert.match(none.stderr, /^beacon services: registry answered 401 to GET \/v1\/services: a token is required[^\n]*\n$/);
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(variable.code, 0, variable.stderr);
  });

  it('a read token may list but not write: the 403 exits 1 with the message naming the right', async () => {
    const token = await readToken();

    const [list, write] = await Promise.all([cli(['instances', 'web', '--token', token]), cli(['deregister', 'web', 'web-1', '--token', token])]);

    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\nweb-1 /);
    assert.deepEqual([write.code, write.stdout], [1, '']);
    assert.match(write.stderr, /^beacon deregister: registry answered 403 to DELETE \/v1\/services\/web\/instances\/web-1: token \S+ \(read\) may only read[^\n]*\n$/);
  });
});
