import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CliOutcome, executeCli } from '../../../clients/cli/cli-command.js';
import { heartbeatCommand } from '../../../clients/cli/heartbeat.js';
import { instancesCommand } from '../../../clients/cli/instances.js';
import { maintenanceCommand } from '../../../clients/cli/maintenance.js';
import { registerCommand } from '../../../clients/cli/register.js';
import { servicesCommand } from '../../../clients/cli/services.js';
import { runCli } from '../../support/cli.js';
import { freePort } from '../../support/ports.js';

/** The commands in process, by name, as bin/beacon.js would run them with `env`. */
const IN_PROCESS: Record<string, (argv: string[], env: NodeJS.ProcessEnv) => Promise<CliOutcome>> = {
  register: (argv, env) => executeCli(registerCommand, argv, env),
  instances: (argv, env) => executeCli(instancesCommand, argv, env),
  heartbeat: (argv, env) => executeCli(heartbeatCommand, argv, env),
  maintenance: (argv, env) => executeCli(maintenanceCommand, argv, env),
  services: (argv, env) => executeCli(servicesCommand, argv, env),
};

describe('the beacon CLI: usage errors, --help and an unreachable registry', () => {
  // In process (the same code bin/beacon.js runs, without a process start per case); the spawned test below checks the wiring.
  it('a bad or missing flag or argument exits 2 with one line naming it and the usage line, and sends nothing', async () => {
    // Nothing listens there: a command that sent a request would exit 3, not 2.
    const registry = `http://127.0.0.1:${await freePort()}`;
    const cases: [string[], RegExp][] = [
      [['register', 'web', 'web-9', '--address', '127.0.0.1'], /^beacon register: --port is required$/],
      [['register', 'web', 'web-9', '--address', '127.0.0.1', '--port', '70000'], /^beacon register: --port must be 1-65535, got 70000$/],
      [['register', 'web', 'web-9', '--address', 'db.example', '--port', '80'], /^beacon register: --address must be an IPv4 or IPv6 literal, got "db\.example"$/],
      [['register', 'web', 'web-9', '--address', '127.0.0.1', '--port', '80', '--tag', 'Blue'], /^beacon register: --tag must be one lower-case DNS label.*, got "Blue"$/],
      [['register', 'web', 'web-9', '--address', '127.0.0.1', '--port', '80', '--meta', 'novalue'], /^beacon register: --meta must be KEY=VALUE, got "novalue"$/],
      [['register', 'web', 'web-9', '--address', '127.0.0.1', '--port', '80', '--meta', 'a b=c'], /^beacon register: --meta "a b": meta keys may contain only/],
      [['register', 'web', '--address', '127.0.0.1', '--port', '80'], /^beacon register: ID is required$/],
      [['instances', 'Web'], /^beacon instances: NAME must be one lower-case DNS label.*, got "Web"$/],
      [['instances', 'web', '--prot', '80'], /^beacon instances: Unknown option '--prot' \(an argument that starts with "-" goes after "--"\)$/],
      [['instances', 'web', '--tag'], /^beacon instances: Option '--tag <value>' argument missing$/],
      [['heartbeat', 'web', 'web-1', '--status', 'fine'], /^beacon heartbeat: --status must be one of passing, warning, critical, got "fine"$/],
      [['maintenance', 'web', 'web-1'], /^beacon maintenance: give exactly one of --enable and --disable$/],
      [['services', 'web'], /^beacon services: unexpected argument "web"/],
      [['services', '--verbose'], /^beacon services: Unknown option '--verbose'$/],
      [['services', '--registry', 'localhost:8500'], /^beacon services: --registry must be an http:\/\/ or https:\/\/ URL, got "localhost:8500"$/],
    ];
    const results = await Promise.all(cases.map(([[name, ...args]]) => IN_PROCESS[name!]!(args, { BEACON_REGISTRY: registry })));

    results.forEach(({ code, stdout, stderr }, at) => {
      const [args, message] = cases[at]!;
      const [first, second, ...rest] = stderr.trimEnd().split('\n');
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(first!, message);
      assert.match(second!, new RegExp(`^usage: beacon ${args[0]} .*\\(more: beacon ${args[0]} --help\\)$`));
      assert.deepEqual([stdout, rest], ['', []]);
    });
  });

  it('the spawned command prints the same two lines and exits 2', async () => {
    const { code, stdout, stderr } = await runCli(['register', 'web', 'web-1', '--address', '127.0.0.1', '--port', '0']);

    assert.deepEqual([code, stdout], [2, '']);
    assert.equal(stderr, [
      'beacon register: --port must be 1-65535, got 0',
      'usage: beacon register NAME ID --address A --port P [--weight W] [--tag T]... [--meta K=V]... [--ttl S] [--deregister-after S] [--json] (more: beacon register --help)',
      '',
    ].join('\n'));
  });

  it('a registry that cannot be reached exits 3 with one line', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;

    const { code, stdout, stderr } = await runCli(['instances', 'web', '--registry', closed]);

    assert.deepEqual([code, stdout], [3, '']);
    assert.match(stderr, /^beacon instances: registry http:\/\/127\.0\.0\.1:\d+ unreachable \(GET \/v1\/services\/web\/instances\): ECONNREFUSED[^\n]*\n$/);
  });

  it('--help prints what the command does and its flags with defaults and variables, and exits 0', async () => {
    const { code, stdout, stderr } = await runCli(['register', '--help']);

    assert.deepEqual([code, stderr], [0, '']);
    assert.match(stdout, /^Registers an instance/);
    assert.match(stdout, /\nusage: beacon register NAME ID --address A --port P/);
    assert.match(stdout, /\n {2}--registry .*\(default http:\/\/127\.0\.0\.1:8500; env BEACON_REGISTRY\)\n/);
    assert.match(stdout, /\n {2}--address .*\(required\)\n/);
    assert.match(stdout, /\n {2}--tag .*\(repeatable\)\n/);
  });

  it('beacon alone lists the commands; an unknown command exits 2', async () => {
    const [list, unknown] = await Promise.all([runCli(['--help']), runCli(['servics'])]);

    assert.equal(list.code, 0);
    for (const command of ['server', 'proxy', 'services', 'instances', 'register', 'deregister', 'heartbeat', 'maintenance', 'resolve', 'store', 'demo-service']) {
      assert.match(list.stdout, new RegExp(`\\n {2}${command} +\\S`), command);
    }
    assert.deepEqual([unknown.code, unknown.stderr], [2, 'beacon: unknown command "servics" (commands: server, proxy, services, instances, register, deregister, heartbeat, maintenance, policy, resolve, cluster, store, demo-service)\n']);
  });
});
