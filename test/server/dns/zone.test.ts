import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeName } from '../../../server/dns/message.js';
import { weightedOrder } from '../../../contract/weighted-order.js';
import { addressLabel, ipv6Bytes, Zone } from '../../../server/dns/zone.js';

describe('zone names', () => {
  const zone = new Zone('beacon.internal');
  const classify = (name: string) => zone.classify(encodeName(name.split('.').filter(Boolean)).toString('latin1').toLowerCase()).name;

  test('classifies every name form once, case-insensitively', () => {
    assert.deepEqual(classify('WEB.service.Beacon.Internal'), { kind: 'service', service: 'web', rfc2782: false });
    assert.deepEqual(classify('blue.web.service.beacon.internal'), { kind: 'service', service: 'web', tag: 'blue', rfc2782: false });
    assert.deepEqual(classify('_web._tcp.service.beacon.internal'), { kind: 'service', service: 'web', rfc2782: true });
    assert.deepEqual(classify('_web._blue.service.beacon.internal'), { kind: 'service', service: 'web', tag: 'blue', rfc2782: true });
    assert.deepEqual(classify('beacon.internal'), { kind: 'apex' });
    assert.deepEqual(classify('ns.beacon.internal'), { kind: 'nameserver' });
    assert.deepEqual(classify('service.beacon.internal'), { kind: 'empty' });
    assert.deepEqual(classify('10-0-0-1.addr.beacon.internal'), { kind: 'address', address: '10.0.0.1', family: 4 });
    assert.deepEqual(classify('a.b.web.service.beacon.internal'), { kind: 'unknown' });
    assert.deepEqual(classify('web.beacon.internal'), { kind: 'unknown' });
    assert.deepEqual(classify('internal'), { kind: 'outside' });
    assert.deepEqual(classify('beacon.internal.evil'), { kind: 'outside' });
    assert.deepEqual(classify('xbeacon.internal'), { kind: 'outside' });
  });

  test('the apex offset points at the zone inside the question name, and results are cached', () => {
    const key = encodeName(['blue', 'web', 'service', 'beacon', 'internal']).toString('latin1');
    const first = zone.classify(key);
    assert.equal(first.apexOffset, 5 + 4 + 8);
    assert.equal(zone.classify(key), first, 'the same object: classified once');
  });

  test('address labels round-trip IPv4 and every IPv6 spelling', () => {
    assert.equal(addressLabel('10.0.0.1'), '10-0-0-1');
    assert.equal(addressLabel('fd00::6'), 'fd000000000000000000000000000006');
    assert.equal(addressLabel('::ffff:10.0.0.1'), '00000000000000000000ffff0a000001');
    assert.equal(addressLabel('2001:DB8::1:0:0:1'), '20010db8000000000001000000000001');
    assert.deepEqual(ipv6Bytes('::'), Buffer.alloc(16));
    assert.deepEqual(ipv6Bytes('1::'), Buffer.from('00010000000000000000000000000000', 'hex'));
    const back = classify(`${addressLabel('2001:db8::1')}.addr.beacon.internal`);
    assert.equal(back.kind, 'address');
    assert.deepEqual(ipv6Bytes((back as { address: string }).address), ipv6Bytes('2001:db8::1'));
  });
});

describe('weighted order', () => {
  test('weight 0 entries always come after weighted ones', () => {
    const entries = [{ weight: 0, id: 'zero' }, { weight: 1, id: 'one' }, { weight: 0, id: 'nil' }, { weight: 5, id: 'five' }];
    for (let i = 0; i < 200; i++) {
      const order = weightedOrder(entries).map((entry) => entry.id);
      assert.deepEqual(new Set(order.slice(2)), new Set(['zero', 'nil']));
      assert.equal(order.length, 4);
    }
  });

  test('the first position follows the weights (1:2:7 over 20,000 draws, ± 1.5 points)', () => {
    const entries = [{ weight: 1 }, { weight: 2 }, { weight: 7 }];
    const first = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) first[entries.indexOf(weightedOrder(entries)[0]!)]! += 1;
    [0.1, 0.2, 0.7].forEach((expected, i) => assert.ok(Math.abs(first[i]! / 20_000 - expected) < 0.015, `entry ${i}: ${first[i]! / 20_000}`));
  });
});
