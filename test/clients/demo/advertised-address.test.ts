import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';
import { type AddressSources, advertisedAddress } from '../../../clients/demo/advertised-address.js';

function nic(address: string, internal = false): NetworkInterfaceInfo {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  return { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo;
}

/** A machine with these interfaces whose host name resolves to `named`. */
function machine(interfaces: Record<string, NetworkInterfaceInfo[]>, named: string[] = []): AddressSources {
  return { interfaces: () => interfaces, lookupHostname: async () => named };
}

const container = machine({ lo: [nic('127.0.0.1', true), nic('::1', true)], eth0: [nic('fe80::42:acff:fe12:3'), nic('172.18.0.3')] });

describe('the address a demo service registers', () => {
  it('is --advertise when given, whatever it listens on', async () => {
    assert.equal(await advertisedAddress('0.0.0.0', '10.1.2.3', container), '10.1.2.3');
  });

  it('is the listen address when that is a specific IP', async () => {
    assert.equal(await advertisedAddress('127.0.0.1', undefined, container), '127.0.0.1');
    assert.equal(await advertisedAddress('::1', undefined, container), '::1');
  });

  it("is the machine's first non-loopback IPv4 address when listening on 0.0.0.0 or :: (a container's own IP)", async () => {
    assert.equal(await advertisedAddress('0.0.0.0', undefined, container), '172.18.0.3');
    assert.equal(await advertisedAddress('::', undefined, container), '172.18.0.3');
  });

  it('falls back to a global IPv6 address, never a link-local one', async () => {
    const v6 = machine({ lo: [nic('127.0.0.1', true)], eth0: [nic('fe80::1'), nic('2001:db8::7')] });
    assert.equal(await advertisedAddress('::', undefined, v6), '2001:db8::7');
  });

  it("falls back to what the host name resolves to, then to loopback, on a machine with no other interface", async () => {
    assert.equal(await advertisedAddress('0.0.0.0', undefined, machine({ lo: [nic('127.0.0.1', true)] }, ['127.0.1.1', '10.9.8.7'])), '10.9.8.7');
    assert.equal(await advertisedAddress('0.0.0.0', undefined, machine({ lo: [nic('127.0.0.1', true)] })), '127.0.0.1');
  });

  it('resolves a listen host given as a name', async () => {
    assert.match(await advertisedAddress('localhost', undefined, container), /^(127\.0\.0\.1|::1)$/);
  });
});
