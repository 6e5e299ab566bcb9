import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieValue, hashKeyOf } from '../../../clients/balancing/hash-key.js';

describe('hashKeyOf', () => {
  it("takes the header's value (node hands headers over with lower-case names)", () => {
    assert.equal(hashKeyOf({ 'x-user-id': 'u-42' }, { header: 'x-user-id' }), 'u-42');
  });

  it('has no key without the header, with an empty one, or without a key source', () => {
    assert.equal(hashKeyOf({}, { header: 'x-user-id' }), undefined);
    assert.equal(hashKeyOf({ 'x-user-id': '' }, { header: 'x-user-id' }), undefined);
    assert.equal(hashKeyOf({ 'x-user-id': 'u-42' }, undefined), undefined);
  });

  it("takes the named cookie's value among others, the first when repeated", () => {
    const headers = { cookie: 'theme=dark; session=abc123;other=1; session=older' };

    assert.equal(hashKeyOf(headers, { cookie: 'session' }), 'abc123');
    assert.equal(hashKeyOf(headers, { cookie: 'other' }), '1');
  });

  it('does not take a cookie whose name only ends or starts with the one asked for', () => {
    assert.equal(cookieValue('mysession=a; sessions=b', 'session'), undefined);
    assert.equal(cookieValue(undefined, 'session'), undefined);
    assert.equal(cookieValue('session=', 'session'), undefined);
  });
});
