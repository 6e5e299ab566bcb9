import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BreakerOptions, type BreakerTransition, CircuitBreaker } from '../../../clients/breaker/circuit-breaker.js';
import { ManualClock } from '../../../contract/clock.js';

const OPTIONS: BreakerOptions = {
  consecutiveFailures: 3,
  openTime: { baseMs: 1000, maxMs: 8000, jitter: 0 },
  halfOpenProbes: 2,
};

function breaker(options: BreakerOptions = OPTIONS) {
  const clock = new ManualClock();
  const transitions: BreakerTransition[] = [];
  const subject = new CircuitBreaker(options, clock, { transition: (transition) => transitions.push(transition) });
  return { subject, clock, transitions };
}

function fail(subject: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) subject.failed(subject.admit()!);
}

describe('CircuitBreaker', () => {
  it('stays closed below the consecutive-failure threshold, and a success starts the count again', () => {
    const { subject, transitions } = breaker();

    fail(subject, 2);
    subject.succeeded(subject.admit()!);
    fail(subject, 2);

    assert.equal(subject.state, 'closed');
    assert.deepEqual(transitions, []);
  });

  it('trips open after N consecutive failures and refuses requests while open', () => {
    const { subject, transitions } = breaker();

    fail(subject, 3);

    assert.equal(subject.state, 'open');
    assert.equal(subject.admit(), undefined);
    assert.deepEqual(transitions, ['trip']);
  });

  it('turns half-open after the open time and admits only the bounded number of probes', () => {
    const { subject, clock, transitions } = breaker();
    fail(subject, 3);

    clock.advance(999);
    const stillOpen = subject.state;
    clock.advance(1);
    const probes = [subject.admit(), subject.admit(), subject.admit()];

    assert.equal(stillOpen, 'open');
    assert.equal(subject.state, 'half-open');
    assert.deepEqual(
      probes.map((probe) => probe !== undefined),
      [true, true, false],
    );
    assert.deepEqual(transitions, ['trip', 'probe']);
  });

  it('recovers to closed when every probe succeeds', () => {
    const { subject, clock, transitions } = breaker();
    fail(subject, 3);
    clock.advance(1000);

    const probes = [subject.admit()!, subject.admit()!];
    subject.succeeded(probes[0]!);
    const afterOne = subject.state;
    subject.succeeded(probes[1]!);

    assert.equal(afterOne, 'half-open');
    assert.equal(subject.state, 'closed');
    assert.deepEqual(transitions, ['trip', 'probe', 'recover']);
  });

  it('each opening lasts the base time × the times it opened, up to the cap (Envoy), and a recovery keeps the count', () => {
    const { subject, clock } = breaker();
    fail(subject, 3);
    const openTimes: number[] = [];
    for (let round = 0; round < 9; round++) {
      const openedAt = clock.now();
      openTimes.push(subject.reopensAt - openedAt);
      clock.advance(subject.reopensAt - openedAt);
      subject.failed(subject.admit()!);
    }
    clock.advance(subject.reopensAt - clock.now());
    subject.succeeded(subject.admit()!);
    subject.succeeded(subject.admit()!);
    fail(subject, 3);

    assert.deepEqual(openTimes, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 8000]);
    assert.equal(subject.reopensAt - clock.now(), 8000, 'tripped again at once: no time closed to decay');
  });

  it('time spent closed brings the open time down again, one base per decay period', () => {
    const { subject, clock } = breaker({ ...OPTIONS, decayMs: 10_000 });
    fail(subject, 3);
    for (let round = 0; round < 3; round++) {
      clock.advance(subject.reopensAt - clock.now());
      subject.failed(subject.admit()!);
    }
    clock.advance(subject.reopensAt - clock.now());
    subject.succeeded(subject.admit()!);
    subject.succeeded(subject.admit()!);

    clock.advance(20_000);
    fail(subject, 3);

    assert.equal(subject.ejectionCount, 3, '4 openings, less 2 decay periods, plus this one');
    assert.equal(subject.reopensAt - clock.now(), 3000);
  });

  it('consecutive gateway errors trip at their own threshold; another 5xx breaks their run', () => {
    const { subject, transitions } = breaker({ ...OPTIONS, consecutiveFailures: 10, consecutiveGatewayErrors: 2 });

    subject.failed(subject.admit()!, true);
    subject.failed(subject.admit()!, false);
    subject.failed(subject.admit()!, true);
    const afterBrokenRun = subject.state;
    subject.failed(subject.admit()!, true);

    assert.equal(afterBrokenRun, 'closed');
    assert.equal(subject.state, 'open');
    assert.equal(subject.tripCause, 'consecutive-gateway-errors');
    assert.deepEqual(transitions, ['trip']);
  });

  it('consecutive failures of any kind trip at theirs', () => {
    const { subject } = breaker({ ...OPTIONS, consecutiveFailures: 3, consecutiveGatewayErrors: 2 });

    for (const gateway of [true, false, true]) subject.failed(subject.admit()!, gateway);

    assert.equal(subject.state, 'open');
    assert.equal(subject.tripCause, 'consecutive-failures');
  });

  it('settings are read at each failure: a new threshold applies to the next one', () => {
    let options: BreakerOptions = { ...OPTIONS, consecutiveFailures: 5 };
    const clock = new ManualClock();
    const subject = new CircuitBreaker(() => options, clock);
    fail(subject, 2);

    options = { ...options, consecutiveFailures: 3, openTime: { baseMs: 4000, maxMs: 8000, jitter: 0 } };
    fail(subject, 1);

    assert.equal(subject.state, 'open');
    assert.equal(subject.reopensAt - clock.now(), 4000);
  });

  it('jitter shortens the open time by at most its share', () => {
    const clock = new ManualClock();
    const subject = new CircuitBreaker({ ...OPTIONS, openTime: { baseMs: 1000, maxMs: 8000, jitter: 0.2 } }, clock, {}, () => 0.5);

    fail(subject, 3);

    assert.equal(subject.reopensAt - clock.now(), 900);
  });

  it('ignores outcomes of requests admitted before the last transition', () => {
    const { subject, clock } = breaker();
    const earlyRequest = subject.admit()!;
    fail(subject, 3);
    clock.advance(1000);
    subject.admit();

    subject.succeeded(earlyRequest);

    assert.equal(subject.state, 'half-open');
  });

  it('an abandoned probe frees its slot without deciding anything', () => {
    const { subject, clock } = breaker({ ...OPTIONS, halfOpenProbes: 1 });
    fail(subject, 3);
    clock.advance(1000);
    const probe = subject.admit()!;

    subject.abandoned(probe);

    assert.equal(subject.state, 'half-open');
    assert.notEqual(subject.admit(), undefined);
  });

  it('trips on the failure rate over its window even without N failures in a row', () => {
    const { subject, transitions } = breaker({
      ...OPTIONS,
      consecutiveFailures: 100,
      failureRate: { threshold: 0.5, minimumRequests: 10, windowMs: 10_000 },
    });

    for (let i = 0; i < 5; i++) {
      subject.succeeded(subject.admit()!);
      subject.failed(subject.admit()!);
    }

    assert.deepEqual(transitions, ['trip']);
  });

  it('forgets failures that slid out of the rate window', () => {
    const { subject, clock, transitions } = breaker({
      ...OPTIONS,
      consecutiveFailures: 100,
      failureRate: { threshold: 0.5, minimumRequests: 10, windowMs: 10_000 },
    });
    for (let i = 0; i < 8; i++) fail(subject, 1);

    clock.advance(11_000);
    for (let i = 0; i < 9; i++) subject.succeeded(subject.admit()!);
    fail(subject, 1);

    assert.deepEqual(transitions, []);
  });

  it('stays closed when the ejection cap says no', () => {
    const clock = new ManualClock();
    const subject = new CircuitBreaker(OPTIONS, clock, { mayTrip: () => false });

    fail(subject, 5);

    assert.equal(subject.state, 'closed');
  });
});
