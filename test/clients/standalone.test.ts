import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../support/temp.js';

const root = realpathSync(new URL('../../../', import.meta.url));
const rootUrl = pathToFileURL(`${root}/`).href;
const hooks = new URL('../support/resolve-trace.js', import.meta.url).href;

/**
 * What only the server may load, named as a package or a file under dist/server/ (null: not
 * server-only): its HTTP framework and plugins, its database, and its own modules.
 */
function serverOnly(url: string): string | null {
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return /^(fastify|fastify-.+|@fastify\/.+|better-sqlite3)$/.test(pkg) ? pkg : null;
  return url.startsWith(`${rootUrl}dist/server/`) ? url.slice(rootUrl.length) : null;
}

/**
 * Imports `specifiers` in a fresh node process, from the package root (so `beacon/clients`
 * resolves through package.json `exports`), and returns every module it loaded: the URLs the
 * ESM loader resolved (traced by a resolve hook) and the CommonJS files in require.cache.
 */
async function modulesLoadedBy(t: TestContext, specifiers: string[]): Promise<string[]> {
  const log = join(tempDir(t), 'resolved.txt');
  const script = [
    "import { createRequire, register } from 'node:module';",
    "import { pathToFileURL } from 'node:url';",
    `register(${JSON.stringify(hooks)}, { data: { log: ${JSON.stringify(log)} } });`,
    `for (const specifier of ${JSON.stringify(specifiers)}) await import(specifier);`,
    "const required = Object.keys(createRequire(pathToFileURL(process.cwd() + '/')).cache);",
    'process.stdout.write(JSON.stringify(required.map((file) => pathToFileURL(file).href)));',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--eval', script], { cwd: root });
  const resolved = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return [...new Set([...resolved, ...(JSON.parse(stdout) as string[])])];
}

function assertNoServerModules(loaded: string[], entry: string): void {
  assert.ok(loaded.includes(`${rootUrl}${entry}`), `the trace saw ${entry} itself (traced: ${loaded.length} modules)`);
  const offending = [...new Set(loaded.map(serverOnly).filter((name) => name !== null))].sort();
  assert.deepEqual(offending, [], `server-only packages and modules were loaded: ${offending.join(', ')}`);
}

test('importing the client library (beacon/clients) loads neither fastify, SQLite nor any server module', async (t) => {
  assertNoServerModules(await modulesLoadedBy(t, ['beacon/clients']), 'dist/clients/index.js');
});

test('the client commands bin/beacon.js dispatches to (proxy, CLI, demo-service) load no server module', async (t) => {
  const commands = [...readFileSync(join(root, 'bin/beacon.js'), 'utf8').matchAll(/import\('\.\.\/(dist\/clients\/[^']+)'\)/g)].map((match) => match[1]!);
  assert.ok(commands.includes('dist/clients/proxy/main.js'));
  assertNoServerModules(await modulesLoadedBy(t, commands.map((command) => `${rootUrl}${command}`)), 'dist/clients/proxy/main.js');
});

test('every contract/ module, which both sides import, loads no server module', async (t) => {
  const modules = readdirSync(join(root, 'dist/contract')).filter((file) => file.endsWith('.js')).map((file) => `dist/contract/${file}`);
  assert.ok(modules.includes('dist/contract/instance.js'));
  assertNoServerModules(await modulesLoadedBy(t, modules.map((module) => `${rootUrl}${module}`)), 'dist/contract/instance.js');
});
