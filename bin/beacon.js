#!/usr/bin/env node
// The `beacon` command: dispatches to the compiled subcommands in dist/.
const commands = {
  server: () => import('../dist/server/main.js'),
  proxy: () => import('../dist/clients/proxy/main.js'),
  'demo-service': () => import('../dist/clients/demo/demo-service-main.js'),
};

const [command, ...args] = process.argv.slice(2);
const load = commands[command];
if (!load) {
  const known = Object.keys(commands).join(', ');
  process.stderr.write(
    command && command !== '--help' && command !== '-h'
      ? `beacon: unknown command "${command}" (commands: ${known})\n`
      : `usage: beacon <command> [flags]\ncommands: ${known}\n`,
  );
  process.exitCode = command && command !== '--help' && command !== '-h' ? 2 : 0;
} else {
  const { main } = await load();
  await main(args);
}
