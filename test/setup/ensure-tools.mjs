#!/usr/bin/env node
// Runs before `npm test` (the `pretest` script): the suite talks to real peers (dig, dnsmasq,
// python3-consul, Chromium, docker-compose, etcd), and a test that skipped because one was missing
// would hide a regression. So each tool is checked here; a missing one is installed when we are
// root on Debian, and otherwise the run stops at once with the exact command to type.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** What the suite needs, the check that proves it is there, and the Debian package that brings it. */
export const REQUIRED_TOOLS = [
  { tool: 'dig', why: 'DNS tests ask a third resolver', check: ['dig', '-v'], debianPackage: 'bind9-dnsutils' },
  { tool: 'dnsmasq', why: 'DNS forwarding test', check: ['dnsmasq', '--version'], debianPackage: 'dnsmasq-base' },
  { tool: 'python3-consul', why: 'an independent Consul client', check: ['/usr/bin/python3', '-c', 'import consul'], debianPackage: 'python3-consul' },
  { tool: 'chromium', why: 'dashboard tests', check: ['/usr/bin/chromium', '--version'], debianPackage: 'chromium' },
  { tool: 'docker-compose', why: 'docker-compose.yml validation', check: ['docker-compose', 'version'], debianPackage: 'docker-compose' },
  { tool: 'etcd', why: 'cluster tests', check: ['etcd', '--version'], debianPackage: 'etcd-server' },
  { tool: 'openssl', why: 'TLS tests make their certificates', check: ['openssl', 'version'], debianPackage: 'openssl' },
];

const present = ({ check: [command, ...args] }) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

function install(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  process.stderr.write(`test setup: installing ${packages.join(' ')} (apt-get)\n`);
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...packages]]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (result.status !== 0) return false;
  }
  return true;
}

const missing = REQUIRED_TOOLS.filter((tool) => !present(tool));
if (missing.length > 0) {
  const packages = missing.map((tool) => tool.debianPackage);
  const command = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  const canInstall = process.getuid?.() === 0 && existsSync('/etc/debian_version');
  if (!canInstall || !install(packages) || missing.some((tool) => !present(tool))) {
    const list = missing.map((tool) => `  ${tool.tool} (${tool.why})`).join('\n');
    process.stderr.write(`test setup: the test suite needs tools that are missing:\n${list}\nInstall them, then run npm test again:\n  ${canInstall ? '' : 'sudo '}${command}\n`);
    process.exit(1);
  }
}
