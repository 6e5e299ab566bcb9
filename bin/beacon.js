#!/usr/bin/env node
// The `beacon` command: dispatches to the compiled subcommands in dist/.
const commands = {
  server: ['the registry: HTTP API and DNS', () => import('../dist/server/main.js')],
  proxy: ["forwards HTTP or TCP to a service's healthy instances", () => import('../dist/clients/proxy/main.js')],
  services: ['lists the services with instance counts', () => import('../dist/clients/cli/services.js')],
  instances: ["lists a service's instances", () => import('../dist/clients/cli/instances.js')],
  register: ['registers an instance', () => import('../dist/clients/cli/register.js')],
  deregister: ['deregisters an instance', () => import('../dist/clients/cli/deregister.js')],
  heartbeat: ["renews an instance's TTL, optionally with a status", () => import('../dist/clients/cli/heartbeat.js')],
  maintenance: ['turns maintenance on or off', () => import('../dist/clients/cli/maintenance.js')],
  policy: ["reads, sets or removes a service's traffic policy", () => import('../dist/clients/cli/policy.js')],
  resolve: ['looks a service up in DNS', () => import('../dist/clients/cli/resolve.js')],
  cluster: ['shows where the registry is kept and the nodes serving it', () => import('../dist/clients/cli/cluster.js')],
  store: ["copies a single node's registry (its SQLite file) into etcd: beacon store copy", () => import('../dist/server/store-copy/main.js')],
  'demo-service': ['a tiny HTTP service that registers itself (the demo, docs/demo.md)', () => import('../dist/clients/demo/demo-service-main.js')],
};

const [command, ...args] = process.argv.slice(2);
const entry = Object.hasOwn(commands, command ?? '') ? commands[command] : undefined;
if (!entry) {
  const asked = command === undefined || command === '--help' || command === '-h';
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands).map(([name, [about]]) => `  ${name.padEnd(width)}  ${about}`);
  (asked ? process.stdout : process.stderr).write(
    asked
      ? `usage: beacon <command> [flags]   (beacon <command> --help for its flags)\n\ncommands:\n${list.join('\n')}\n`
      : `beacon: unknown command "${command}" (commands: ${Object.keys(commands).join(', ')})\n`,
  );
  process.exitCode = asked ? 0 : 2;
} else {
  const { main } = await entry[1]();
  await main(args);
}
