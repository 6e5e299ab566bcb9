import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Acl, BOOTSTRAP_TOKEN_ID } from '../../../server/acl/acl.js';
import { ManualClock } from '../../../contract/clock.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

async function acl(bootstrap?: string) {
  const store = new SqliteStore({ path: ':memory:' });
  return { subject: await Acl.open(store, new ManualClock(), bootstrap), store };
}

describe('Acl', async () => {
  it('a management token may read, write any service and manage tokens', async () => {
    const { subject } = await acl('a-bootstrap-secret-of-length');

    for (const right of [{ kind: 'read' }, { kind: 'write', service: 'web' }, { kind: 'manage' }] as const) {
      assert.equal(subject.check('a-bootstrap-secret-of-length', right), undefined);
    }
  });

  it('a service token writes only its services, reads everything, and cannot manage', async () => {
    const { subject } = await acl();
    const { secret, id } = await subject.create({ kind: 'service', services: ['a'], description: '' });

    assert.equal(subject.check(secret, { kind: 'read' }), undefined);
    assert.equal(subject.check(secret, { kind: 'write', service: 'a' }), undefined);
    assert.deepEqual(subject.check(secret, { kind: 'write', service: 'b' }), {
      status: 403,
      message: `token ${id} (service) may write only "a": writing service "b" needs a management token or a service token listing it`,
    });
    assert.equal(subject.check(secret, { kind: 'manage' })?.status, 403);
  });

  it('a read token only reads', async () => {
    const { subject } = await acl();
    const { secret } = await subject.create({ kind: 'read', description: 'dashboards' });

    assert.equal(subject.check(secret, { kind: 'read' }), undefined);
    assert.match(subject.check(secret, { kind: 'write', service: 'a' })!.message, /\(read\) may only read: writing service "a"/);
  });

  it('no token or an unknown one is a 401', async () => {
    const { subject } = await acl();

    assert.equal(subject.check(undefined, { kind: 'read' })?.status, 401);
    assert.match(subject.check('', { kind: 'read' })!.message, /a token is required/);
    assert.match(subject.check('made-up', { kind: 'read' })!.message, /unknown token/);
  });

  it('a revoked token stops working at once', async () => {
    const { subject } = await acl();
    const { secret, id } = await subject.create({ kind: 'read', description: '' });

    assert.equal(await subject.revoke(id), true);

    assert.equal(subject.check(secret, { kind: 'read' })?.status, 401);
    assert.equal(await subject.revoke(id), false);
  });

  it('stores only hashes: a listing and the database hold no secret', async () => {
    const { subject, store } = await acl();
    const { secret } = await subject.create({ kind: 'read', description: 'ci' });

    const rows = JSON.stringify(store.db.prepare('SELECT id, hex(secret_hash) AS hash, kind, services, description FROM acl_tokens').all());

    assert.ok(!JSON.stringify(subject.list()).includes(secret));
    assert.ok(!rows.includes(secret));
  });

  it('tokens survive a restart on the same store; a changed bootstrap secret replaces the old one', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const first = await Acl.open(store, new ManualClock(), 'first-bootstrap-secret');
    const { secret } = await first.create({ kind: 'read', description: '' });

    const second = await Acl.open(store, new ManualClock(), 'second-bootstrap-secret');

    assert.equal(second.check(secret, { kind: 'read' }), undefined);
    assert.equal(second.check('first-bootstrap-secret', { kind: 'read' })?.status, 401);
    assert.equal(second.check('second-bootstrap-secret', { kind: 'manage' }), undefined);
    assert.deepEqual(
      second.list().filter((token) => token.id === BOOTSTRAP_TOKEN_ID).map((token) => token.kind),
      ['management'],
    );
  });
});
