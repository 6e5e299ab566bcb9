import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { suiteRegistry } from '../../support/suite-registry.js';
import { tempDir } from '../../support/temp.js';

// Fields in the schema's order, the order the registry gives them back in.
const CANARY = { retries: { count: 1 }, split: [{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }] };

describe('beacon policy get|set|delete', () => {
  const registry = suiteRegistry(['--db', ':memory:']);
  const cli = (args: string[]) => runCli(args, { BEACON_REGISTRY: registry.server.url });

  it('sets a policy from a file, prints it back ready to edit, and removes it', async (t) => {
    const file = join(tempDir(t), 'policy.json');
    writeFileSync(file, JSON.stringify(CANARY));

    const set = await cli(['policy', 'set', 'cli-canary', '--file', file]);
    assert.deepEqual([set.code, set.stdout, set.stderr], [0, 'set the traffic policy of cli-canary\n', '']);
    const got = await cli(['policy', 'get', 'cli-canary']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, `${JSON.stringify(CANARY, null, 2)}\n`);
    const asJson = await cli(['policy', 'get', 'cli-canary', '--json']);
    assert.deepEqual(JSON.parse(asJson.stdout), CANARY);

    const removed = await cli(['policy', 'delete', 'cli-canary']);
    assert.deepEqual([removed.code, removed.stdout], [0, 'removed the traffic policy of cli-canary\n']);
    const none = await cli(['policy', 'get', 'cli-canary']);
    assert.deepEqual([none.code, none.stdout, none.stderr], [1, '', 'beacon policy: service "cli-canary" has no traffic policy\n']);
    assert.equal((await cli(['policy', 'delete', 'cli-canary'])).code, 1);
  });

  it('a policy with a mistake is refused before anything is sent, naming the file and the field', async (t) => {
    const file = join(tempDir(t), 'bad.json');
    writeFileSync(file, JSON.stringify({ retries: { count: 99 } }));

    const refused = await cli(['policy', 'set', 'cli-bad', '--file', file]);

    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`^beacon policy: --file ${file}: retries\\.count must be 0-10\\n`));
    assert.equal((await cli(['policy', 'get', 'cli-bad'])).code, 1);
  });

  it('says what is missing: set without --file, an unknown action, a file that is not JSON', async (t) => {
    const file = join(tempDir(t), 'not.json');
    writeFileSync(file, '{"retries":');
    const [noFile, action, notJson] = await Promise.all([
      cli(['policy', 'set', 'web']),
      cli(['policy', 'show', 'web']),
      cli(['policy', 'set', 'web', '--file', file]),
    ]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /set needs --file policy\.json/);
    assert.equal(action.code, 2);
    assert.match(action.stderr, /ACTION must be get, set or delete/);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /is not valid JSON/);
  });
});
