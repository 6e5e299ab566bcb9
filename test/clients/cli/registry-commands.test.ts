import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { suiteRegistry } from '../../support/suite-registry.js';
import { tempDir } from '../../support/temp.js';

describe('the beacon CLI over the HTTP API (services, instances, register, heartbeat, maintenance, deregister)', () => {
  const registry = suiteRegistry(['--db', join(tempDir({ after }), 'beacon.db')]);
  /** The CLI against the suite's registry, given by BEACON_REGISTRY as a script would. */
  const cli = (...args: string[]) => runCli(args, { BEACON_REGISTRY: registry.server.url });

  it('services on an empty registry says so, and --json prints the empty list', async () => {
    const [human, machine] = await Promise.all([cli('services'), cli('services', '--json')]);

    assert.deepEqual([human.code, human.stdout, human.stderr], [0, 'no services are registered\n', '']);
    assert.deepEqual([machine.code, machine.stdout], [0, '[]\n']);
  });

  it('register prints what was registered with a heartbeat hint, and instances lists it', async () => {
    const registered = await cli('register', 'web', 'web-1', '--address', '127.0.0.1', '--port', '8080', '--tag', 'blue', '--tag', 'eu', '--meta', 'version=1.4.2', '--ttl', '120');
    const listed = await cli('instances', 'web');

    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /^registered web\/web-1 at 127\.0\.0\.1:8080: passing \(weight 1, tags blue,eu, ttl 120s\)\n/);
    assert.match(registered.stdout, /keep it alive with `beacon heartbeat web web-1` every 40s/);
    assert.equal(listed.code, 0, listed.stderr);
    const [header, row, ...rest] = listed.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+ADDRESS\s+PORT\s+WEIGHT\s+STATUS\s+TAGS\s+HEARTBEAT\s+OUTPUT$/);
    assert.match(row!, /^web-1\s+127\.0\.0\.1\s+8080\s+1\s+passing\s+blue,eu\s+\d+s ago$/);
    assert.deepEqual(rest, []);
    const stored = await registry.api.get('/v1/services/web/instances/web-1');
    assert.deepEqual(stored.body.meta, { version: '1.4.2' });
    assert.equal(stored.body.ttl, 120);
  });

  it('the table columns line up, and --json prints exactly what the API answers', async () => {
    await registry.api.register('web', 'web-2', { address: 'fd00::7', port: 18081, weight: 3, ttl: 120 });

    const [human, machine, services] = await Promise.all([cli('instances', 'web'), cli('instances', 'web', '--json'), cli('services', '--json')]);

    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    for (const column of ['ADDRESS', 'PORT', 'STATUS', 'HEARTBEAT']) {
      const at = lines[0]!.indexOf(column);
      assert.ok(lines.slice(1).every((line) => line[at - 1] === ' ' && line[at] !== ' '), `${column} starts at the same place on every line:\n${human.stdout}`);
    }
    assert.deepEqual(JSON.parse(machine.stdout), (await registry.api.instances('web')).body);
    assert.deepEqual(JSON.parse(services.stdout), (await registry.api.get('/v1/services')).body);
  });

  it('services prints the counts by status', async () => {
    const { code, stdout } = await cli('services');

    assert.equal(code, 0);
    assert.deepEqual(stdout.trimEnd().split('\n').map((line) => line.split(/\s+/)), [
      ['NAME', 'INSTANCES', 'PASSING', 'WARNING', 'CRITICAL', 'MAINTENANCE'],
      ['web', '2', '2', '0', '0', '0'],
    ]);
  });

  it('heartbeat reports a status and output that the registry then shows', async () => {
    const beat = await cli('heartbeat', 'web', 'web-1', '--status', 'warning', '--output', 'disk 91% full');
    const healthy = await cli('instances', 'web', '--healthy', '--tag', 'blue');

    assert.equal(beat.code, 0, beat.stderr);
    assert.match(beat.stdout, /^web\/web-1 at 127\.0\.0\.1:8080: warning \(disk 91% full\)/);
    assert.equal((await registry.api.get('/v1/services/web/instances/web-1')).body.status, 'warning');
    assert.match(healthy.stdout, /\nweb-1 .* warning .* disk 91% full\n$/);
    assert.doesNotMatch(healthy.stdout, /web-2/);
  });

  it('maintenance --enable takes an instance out of healthy answers with its reason, --disable puts it back', async () => {
    const on = await cli('maintenance', 'web', 'web-2', '--enable', '--reason', 'kernel upgrade');
    const whileOn = await registry.api.instances('web', '?healthy=true');
    const listed = await cli('instances', 'web');
    const off = await cli('maintenance', 'web', 'web-2', '--disable', '--json');

    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^maintenance on: web\/web-2 at \[fd00::7\]:18081: maintenance \(kernel upgrade\)/);
    assert.deepEqual(whileOn.body.map((instance: { id: string }) => instance.id), ['web-1']);
    assert.match(listed.stdout, /\nweb-2 .* maintenance .* kernel upgrade\n/);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(JSON.parse(off.stdout).status, 'passing');
    assert.equal(JSON.parse(off.stdout).maintenanceReason, null);
  });

  it('deregister removes the instance; a second time the 404 exits 1 with the registry\'s message', async () => {
    const first = await cli('deregister', 'web', 'web-2');
    const [second, heartbeat] = await Promise.all([cli('deregister', 'web', 'web-2'), cli('heartbeat', 'web', 'web-2')]);

    assert.deepEqual([first.code, first.stdout], [0, 'deregistered web/web-2\n']);
    assert.equal((await registry.api.get('/v1/services/web/instances/web-2')).status, 404);
    assert.deepEqual([second.code, second.stdout], [1, '']);
    assert.equal(second.stderr, 'beacon deregister: registry answered 404 to DELETE /v1/services/web/instances/web-2: instance web/web-2 is not registered\n');
    assert.equal(heartbeat.code, 1);
    assert.match(heartbeat.stderr, /^beacon heartbeat: registry answered 404 to PUT .*: instance web\/web-2 is not registered\n$/);
  });
});
