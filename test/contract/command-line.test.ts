import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { checkedFlag, ConfigError, type FlagTable, parseCommandLine, switchFlag, usage } from '../../contract/command-line.js';
import { ServiceName, Tag } from '../../contract/instance.js';

const flags = {
  registry: { default: 'http://127.0.0.1:8500', help: 'the registry', schema: z.string() },
  port: { help: 'a port', env: false, schema: z.string({ error: '--port is required' }) },
  tag: { help: 'a tag', multiple: true, schema: checkedFlag('--tag', Tag) },
  json: { ...switchFlag('--json', 'JSON'), env: false },
} satisfies FlagTable;
const operands = { NAME: checkedFlag('NAME', ServiceName), ID: z.string({ error: 'ID is required' }) };

function parse(argv: string[], env: NodeJS.ProcessEnv = {}) {
  return parseCommandLine(flags, operands, argv, env);
}

describe('command lines with operands and repeatable flags', () => {
  it('operands may stand before, between or after flags', () => {
    for (const argv of [['web', 'w1', '--port', '80'], ['--port', '80', 'web', 'w1'], ['web', '--port', '80', 'w1']]) {
      assert.deepEqual(parse(argv)!.operands, { NAME: 'web', ID: 'w1' }, argv.join(' '));
    }
  });

  it('a repeatable flag reads as the list of its values, empty when not given, each checked', () => {
    assert.deepEqual(parse(['web', 'w1', '--port', '1', '--tag', 'a', '--tag', 'b'])!.flags.tag, ['a', 'b']);
    assert.deepEqual(parse(['web', 'w1', '--port', '1'])!.flags.tag, []);
    assert.throws(() => parse(['web', 'w1', '--port', '1', '--tag', 'a', '--tag', 'B']), new ConfigError('--tag must be one lower-case DNS label: a-z, 0-9 and inner hyphens, 1-63 characters, got "B"'));
  });

  it('a flag with env: false ignores its BEACON_* variable; the others read theirs', () => {
    const parsed = parse(['web', 'w1', '--port', '1'], { BEACON_JSON: 'true', BEACON_REGISTRY: 'http://elsewhere:1' })!;

    assert.equal(parsed.flags.json, false);
    assert.equal(parsed.flags.registry, 'http://elsewhere:1');
    assert.throws(() => parse(['web', 'w1'], { BEACON_PORT: '80' }), new ConfigError('--port is required'));
  });

  it('a flag with a variable of its own reads that one, and not BEACON_<FLAG>; usage and errors name it', () => {
    const table = { 'tls-ca': { default: '', env: 'BEACON_REGISTRY_CA', help: 'a CA', schema: z.string().refine((value) => !value.includes(' '), '--tls-ca must not contain spaces') } } satisfies FlagTable;

    const own = parseCommandLine(table, {}, [], { BEACON_REGISTRY_CA: '/ca.crt', BEACON_TLS_CA: '/server-ca.crt' })!;
    const derived = parseCommandLine(table, {}, [], { BEACON_TLS_CA: '/server-ca.crt' })!;

    assert.deepEqual([own.flags['tls-ca'], [...own.given]], ['/ca.crt', ['tls-ca']]);
    assert.deepEqual([derived.flags['tls-ca'], [...derived.given]], ['', []]);
    assert.match(usage('beacon x', table), /--tls-ca +a CA \(default none; env BEACON_REGISTRY_CA\)$/);
    assert.throws(() => parseCommandLine(table, {}, [], { BEACON_REGISTRY_CA: 'a b' }), new ConfigError('--tls-ca must not contain spaces, got "a b" (from BEACON_REGISTRY_CA)'));
  });

  it('a missing, wrong or extra operand is named', () => {
    assert.throws(() => parse(['web', '--port', '1']), new ConfigError('ID is required'));
    assert.throws(() => parse(['Web', 'w1', '--port', '1']), { message: /^NAME must be one lower-case DNS label.*, got "Web"$/ });
    assert.throws(() => parse(['web', 'w1', 'w2', '--port', '1']), new ConfigError('unexpected argument "w2"'));
  });

  it('--help wins over everything missing', () => {
    assert.equal(parse(['--help']), null);
  });

  it('usage says which flags repeat and which have no variable', () => {
    const text = usage('beacon x NAME ID', flags);

    assert.match(text, /--tag +a tag \(repeatable\)\n/);
    assert.match(text, /--port +a port \(required\)\n/);
    assert.match(text, /--registry +the registry \(default http:\/\/127\.0\.0\.1:8500; env BEACON_REGISTRY\)\n/);
  });
});
