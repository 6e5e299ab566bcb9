import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readDocClaims } from './command-claims.js';
import { parseCommandList, parseHelpFlags } from './command-help.js';

/** The claims of a markdown text, as `line command flags…` strings. */
function claimsOf(markdown: string): string[] {
  return readDocClaims('doc.md', markdown).claims.map((claim) => [claim.line, claim.command, ...claim.flags].join(' '));
}

const fence = '```';

describe('reading what a doc claims about commands', () => {
  it('a command line in a code block names the command and the flags up to the end of that shell command', () => {
    const markdown = [
      `${fence}sh`,
      'npx beacon proxy --service web --listen 127.0.0.1:8080 &   # --admin is left at its default',
      'npx beacon instances web --json | jq -r ".[] | .id" --raw-output',
      'node bin/beacon.js server --db=/var/lib/beacon.db; curl -s --max-time 1 localhost:8500',
      "beacon maintenance web web-2 --enable --reason 'the --disable flag'",
      'npx beacon register web web-1 \\',
      '  --address 10.0.0.1 --port 80',
      'beacon deregister web -- --odd-id',
      fence,
    ].join('\n');

    assert.deepEqual(claimsOf(markdown), [
      '2 beacon proxy --service --listen',
      '3 beacon instances --json',
      '4 beacon server --db',
      '5 beacon maintenance --enable --reason',
      '6 beacon register --address --port',
      '8 beacon deregister',
    ]);
  });

  it('flags of other tools and of npm itself are not taken for a command’s', () => {
    const markdown = [
      `${fence}sh`,
      'dig @127.0.0.1 -p 8600 web.service.beacon.internal SRV +short',
      'docker-compose up --build',
      'python3 -m http.server 9001 --bind 127.0.0.1 &',
      'kill -TERM <beacon pid>',
      'npm run bench --silent',
      'npm run demo -- --proxy-port 8081',
      fence,
      '',
      'dnsmasq answered from an `--address` rule; `NODE_OPTIONS=--max-semi-space-size=1` helps.',
    ].join('\n');

    assert.deepEqual(claimsOf(markdown), ['6 npm run bench', '7 npm run demo --proxy-port']);
  });

  it('an error message naming a command names it without flags, and a usage line names its flags', () => {
    const markdown = [
      fence,
      '$ BEACON_DB_SYNC=fast npx beacon server',
      'beacon server: --db-sync must be normal or full (see beacon server --help)',
      'usage: beacon heartbeat NAME ID [--status passing|warning|critical] [--output TEXT] (more: beacon heartbeat --help)',
      'usage: beacon maintenance NAME ID --enable|--disable [--reason R]',
      fence,
    ].join('\n');

    assert.deepEqual(claimsOf(markdown), [
      '2 beacon server',
      '3 beacon server',
      '3 beacon server --help',
      '4 beacon heartbeat --status --output',
      '4 beacon heartbeat --help',
      '5 beacon maintenance --enable --disable --reason',
    ]);
  });

  it('a code span names a command and its flags, also across a line break; prose outside code names nothing', () => {
    const markdown = ['We measured beacon proxy against haproxy. `beacon server --acl', '--acl-bootstrap-token <secret>` turns it on.'].join('\n');

    assert.deepEqual(claimsOf(markdown), ['1 beacon server --acl --acl-bootstrap-token']);
  });

  it('a flag table belongs to the command its innermost heading names, or that a flags-of line right above it names', () => {
    const markdown = [
      '# beacon proxy',
      '## Flags',
      '| flag | default | meaning |',
      '| --- | --- | --- |',
      '| `--retries` | `2` | further tries |',
      '| `--help`, `-h` | | what it takes |',
      '## Files',
      '<!-- flags of: beacon server, npm run demo -->',
      '',
      '| flag | env | default | meaning |',
      '| --- | --- | --- | --- |',
      '| `--header-timeout`, `--request-timeout` | `BEACON_HEADER_TIMEOUT`, `BEACON_REQUEST_TIMEOUT` | `10s`, `30s` | timeouts |',
      '',
      '# Other',
      '| flag | meaning |',
      '| --- | --- |',
      '| `--address` | a dnsmasq rule |',
    ].join('\n');

    const { flagTables } = readDocClaims('doc.md', markdown);

    assert.deepEqual(
      flagTables.map((table) => [table.line, table.commands, table.rows]),
      [
        [3, ['beacon proxy'], [{ line: 5, flags: ['--retries'], defaultCell: '`2`' }]],
        [
          10,
          ['beacon server', 'npm run demo'],
          [{ line: 12, flags: ['--header-timeout', '--request-timeout'], defaultCell: '`10s`, `30s`', envCell: '`BEACON_HEADER_TIMEOUT`, `BEACON_REQUEST_TIMEOUT`' }],
        ],
        [15, [], [{ line: 17, flags: ['--address'] }]],
      ],
    );
  });

  it('a code span that starts with a flag is a flag of the command its section is about, and of none elsewhere', () => {
    const markdown = ['# beacon proxy', '', 'With `--mode tcp` it joins connections.', '', '# Exit codes', '', '`--port must be 1-65535` is a usage error.'].join('\n');

    assert.deepEqual(claimsOf(markdown), ['1 beacon proxy', '3 beacon proxy --mode']);
  });
});

describe('reading --help', () => {
  it('reads each flag’s default or how it is given, and its environment variable', () => {
    const help = [
      'usage: beacon proxy --service NAME [flags]',
      '',
      '  --service    the service (to forward to) (required; env BEACON_SERVICE)',
      '  --tag        a tag (repeatable)',
      '  --json       as JSON (off unless given)',
      '  --token      a token (default none; env BEACON_TOKEN)',
      '  --timeout    per request (30s, 500ms) (default 15s; env BEACON_TIMEOUT)',
    ].join('\n');

    assert.deepEqual(Object.fromEntries(parseHelpFlags(help)), {
      '--service': { origin: { kind: 'required' }, env: 'BEACON_SERVICE' },
      '--tag': { origin: { kind: 'repeatable' } },
      '--json': { origin: { kind: 'switch' } },
      '--token': { origin: { kind: 'none' }, env: 'BEACON_TOKEN' },
      '--timeout': { origin: { kind: 'default', value: '15s' }, env: 'BEACON_TIMEOUT' },
    });
  });

  it('reads the commands `beacon --help` lists', () => {
    const help = 'usage: beacon <command> [flags]\n\ncommands:\n  server        the registry\n  demo-service  a tiny service\n';

    assert.deepEqual(parseCommandList(help), ['server', 'demo-service']);
  });
});
