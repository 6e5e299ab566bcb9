import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Registry } from '../../../server/registry/registry.js';
import { registration, registryWithClock } from '../../support/registry.js';

const TTL_MS = 10_000;

/** A fleet of `count` instances of service `web` with a 10 s TTL, all passing. */
async function fleet(count: number, share = 0.5) {
  const setup = registryWithClock(':memory:', { selfPreservation: { share, windowMs: 60_000, minInstances: 10 } });
  for (let i = 0; i < count; i++) await setup.registry.register('web', `i-${i}`, registration({ ttl: TTL_MS / 1000 }));
  return setup;
}

async function heartbeat(registry: Registry, ids: number[]): Promise<void> {
  for (const i of ids) await registry.heartbeat('web', `i-${i}`, {});
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** A 20-instance fleet where 12 (60%) went silent and the sweep that noticed has run: the guard holds. */
async function heldFleet() {
  const setup = await fleet(20);
  setup.clock.advance(TTL_MS - 1000);
  await heartbeat(setup.registry, range(0, 8));
  setup.clock.advance(1000);
  await setup.registry.sweep();
  return setup;
}

function critical(registry: Registry): number {
  return registry.countByStatus().critical;
}

describe('self-preservation', () => {
  it('holds every expiry when more than half the fleet stops heartbeating at once', async () => {
    const { registry, clock } = await fleet(20);
    clock.advance(TTL_MS - 1000);
    await heartbeat(registry, range(0, 8)); // 12 of 20 (60%) go silent

    clock.advance(1000);
    const result = await registry.sweep();

    assert.deepEqual(result, { expired: 0, removed: 0, withheld: 12, more: false });
    assert.equal(critical(registry), 0);
    assert.deepEqual(registry.selfPreservationState, { enabled: true, engaged: true, withheld: 12 });
  });

  it('expires as usual when fewer than half stop', async () => {
    const { registry, clock } = await fleet(20);
    clock.advance(TTL_MS - 1000);
    await heartbeat(registry, range(0, 12)); // 8 of 20 (40%) go silent

    clock.advance(1000);
    const result = await registry.sweep();

    assert.deepEqual(result, { expired: 8, removed: 0, withheld: 0, more: false });
    assert.equal(registry.selfPreservationState.engaged, false);
  });

  it('counts expiries over the window: a second wave that passes the share is held', async () => {
    const { registry, clock } = await fleet(20);
    clock.advance(TTL_MS - 1000);
    await heartbeat(registry, range(0, 14)); // first wave: 6 silent (30%), expired
    clock.advance(1000);
    await registry.sweep();
    clock.advance(TTL_MS - 2000);
    await heartbeat(registry, range(0, 8)); // second wave: 6 more (8 of 14 left) would make 12 of 20

    clock.advance(2000);
    const result = await registry.sweep();

    assert.equal(critical(registry), 6);
    assert.equal(result.withheld, 6);
    assert.equal(registry.selfPreservationState.engaged, true);
  });

  it('lets go when heartbeats come back, and the instances stay passing', async () => {
    const { registry, clock } = await heldFleet();

    await heartbeat(registry, range(8, 20)); // the partition heals
    clock.advance(1000);
    await registry.sweep();

    assert.equal(registry.selfPreservationState.engaged, false);
    assert.equal(critical(registry), 0);
  });

  it('the instances that really died expire once the rest is back', async () => {
    const { registry, clock } = await heldFleet();

    await heartbeat(registry, range(8, 17)); // 3 of the 12 never come back
    clock.advance(1000);
    const result = await registry.sweep();

    assert.equal(result.expired, 3);
    assert.equal(registry.selfPreservationState.engaged, false);
  });

  it('the operator turning it off expires everything held at the next sweep', async () => {
    const { registry, clock } = await heldFleet();

    const state = registry.setSelfPreservation(false);
    clock.advance(1000);
    const result = await registry.sweep();

    assert.deepEqual(state, { enabled: false, engaged: false, withheld: 0 });
    assert.equal(result.expired, 12);
    assert.equal(critical(registry), 12);
  });

  it('an instance deregistered while held is no longer counted as held', async () => {
    const { registry } = await heldFleet();

    await registry.deregister('web', 'i-19');

    assert.deepEqual(registry.selfPreservationState, { enabled: true, engaged: true, withheld: 11 });
  });

  it('never holds a fleet under the minimum size', async () => {
    const { registry, clock } = await fleet(5);

    clock.advance(TTL_MS);
    const result = await registry.sweep();

    assert.equal(result.expired, 5);
  });

  it('a share of 0 turns it off', async () => {
    const { registry, clock } = await fleet(20, 0);

    clock.advance(TTL_MS);
    const result = await registry.sweep();

    assert.equal(result.expired, 20);
    assert.equal(registry.selfPreservationState.enabled, false);
  });
});

describe('self-preservation driven by the sweep, as production drives it', () => {
  it('stays engaged, sweep after sweep, for as long as expiries are held, then lets go once', async () => {
    // 20 instances with a 2 s TTL and 3 long-lived ones; 16 of the 20 go silent. The sweep runs
    // every 100 ms, as Housekeeping runs it, and the 4 survivors heartbeat every second.
    const { registry, clock } = registryWithClock(':memory:', { selfPreservation: { share: 0.5, windowMs: 60_000, minInstances: 10 } });
    for (let i = 0; i < 20; i++) await registry.register('web', `i-${i}`, registration({ ttl: 2 }));
    for (let i = 0; i < 3; i++) await registry.register('db', `d-${i}`, registration({ ttl: 3600 }));
    const states: boolean[] = [];
    const runFor = async (ms: number, heartbeating: number[]) => {
      for (let elapsed = 100; elapsed <= ms; elapsed += 100) {
        clock.advance(100);
        if (elapsed % 1000 === 0) await heartbeat(registry, heartbeating);
        await registry.sweep();
        states.push(registry.selfPreservationState.engaged);
      }
    };

    await runFor(6_000, range(0, 4));
    const engagedAt = states.indexOf(true);
    const heldState = registry.selfPreservationState;
    await heartbeat(registry, range(0, 20)); // the partition heals
    await runFor(3_000, range(0, 20));

    assert.ok(engagedAt >= 0, 'engaged once the 16 expiries came due');
    const transitions = states.filter((state, i) => i > 0 && state !== states[i - 1]).length;
    assert.equal(transitions, 2, `engaged once and released once, not ${transitions} flips: ${states.map(Number).join('')}`);
    assert.ok(states.slice(engagedAt, 60).every(Boolean), 'engaged on every sweep while the 16 stayed silent');
    assert.deepEqual(heldState, { enabled: true, engaged: true, withheld: 16 });
    assert.deepEqual(registry.selfPreservationState, { enabled: true, engaged: false, withheld: 0 });
    assert.equal(critical(registry), 0);
  });
});
