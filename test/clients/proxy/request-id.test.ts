import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptableRequestId, newRequestId } from '../../../clients/proxy/request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('new ids are shaped as version 4 UUIDs and never repeat', () => {
    const ids = Array.from({ length: 10_000 }, () => newRequestId());

    for (const id of ids) assert.match(id, UUID_V4);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("keeps a client's printable id of up to 200 characters, and refuses anything else", () => {
    assert.equal(acceptableRequestId('abc-123'), true);
    assert.equal(acceptableRequestId('x'.repeat(200)), true);
    assert.equal(acceptableRequestId('x'.repeat(201)), false);
    assert.equal(acceptableRequestId(''), false);
    assert.equal(acceptableRequestId('two words'), false);
    assert.equal(acceptableRequestId('line\nbreak'), false);
    assert.equal(acceptableRequestId(['a', 'b']), false);
    assert.equal(acceptableRequestId(undefined), false);
  });
});
