import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { tallied, talliedNumber } from '../../contract/tallied-counter.js';
import { TalliedHistogram } from '../../contract/tallied-histogram.js';
import type { BreakerState, BreakerTransition } from '../breaker/circuit-breaker.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { AttemptOutcome, Upstream, UpstreamPoolHooks } from '../upstream/upstream-pool.js';

/** What the metrics read from the proxy's parts when scraped. */
export interface ProxyGauges {
  pool: Pick<UpstreamChooser, 'members' | 'inPanic'>;
  /** Whether the last blocking query to the registry succeeded. */
  registryReachable(): boolean;
  /** The registry index of the traffic policy in force (0: only the flags); absent outside a proxy. */
  policyIndex?(): number;
}

/**
 * The proxy's Prometheus metrics, in a registry of their own. Per-request counts are plain
 * numbers handed to prom-client at scrape time (see contract/tallied-counter.ts), so the
 * request path never hashes labels.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  /** Keyed by status code (a number) or a word (`aborted`, `connected`, `refused`). */
  private readonly responses = new Map<number | string, number>();
  /** Per instance id, per outcome: kept by id, so an instance that leaves keeps its counts. */
  private readonly attemptsByInstance = new Map<string, Record<AttemptOutcome, number>>();
  private readonly transitions = new Map<string, number>();
  private readonly refusals = new Map<string, number>();
  /** Trips by instance and by what tripped them. */
  private readonly trips = new Map<string, number>();
  /** Keyed by what failed: connect-failure, reset, gateway-status, other-5xx, conflict. */
  private readonly retries = new Map<string, number>();
  /** TLS to instances that failed, by instance and reason (a verify code, or `handshake`). */
  private readonly tlsFailures = new Map<string, number>();
  private clientTlsFailureCount = 0;
  private budgetExhaustedCount = 0;
  private overflowCount = 0;
  private panicPicks = 0;
  private unavailableCount = 0;
  private policyChanges = 0;
  private readonly duration = new TalliedHistogram(
    'beacon_proxy_request_duration_seconds',
    'Time from a request arriving to its answer being sent, retries included',
    [],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
  );
  readonly observeDuration = this.duration.observer({});

  constructor(gauges: ProxyGauges) {
    this.duration.registerIn(this.registry);
    collectDefaultMetrics({ register: this.registry, prefix: 'beacon_proxy_' });
    tallied(this.registry, this.responses, {
      name: 'beacon_proxy_responses_total',
      help: 'Answers sent to clients (HTTP: by status code; TCP: connections by outcome)',
      labelNames: ['code'],
    });
    const attempts = this.attemptsByInstance;
    new Counter({
      name: 'beacon_proxy_upstream_attempts_total',
      help: 'Requests (TCP: connections) sent to each instance, by outcome: success, failure (connect error, timeout, 5xx) or abandoned',
      labelNames: ['instance', 'outcome'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [instance, counts] of attempts) {
          for (const [outcome, count] of Object.entries(counts)) if (count > 0) this.inc({ instance, outcome }, count);
        }
      },
    });
    tallied(this.registry, this.transitions, {
      name: 'beacon_proxy_breaker_transitions_total',
      help: 'Circuit-breaker transitions by instance: trip (closed→open), probe (open→half-open), recover (half-open→closed), retrip (half-open→open)',
      labelNames: ['instance', 'transition'],
    });
    tallied(this.registry, this.trips, {
      name: 'beacon_proxy_ejections_total',
      help: 'Breaker trips (closed→open) by instance and cause: consecutive-failures, consecutive-gateway-errors (502/503/504, connect failures, resets, timeouts) or failure-rate',
      labelNames: ['instance', 'cause'],
    });
    tallied(this.registry, this.refusals, {
      name: 'beacon_proxy_ejections_refused_total',
      help: 'Breakers kept closed because the max-ejection share was reached',
      labelNames: ['instance'],
    });
    tallied(this.registry, this.retries, {
      name: 'beacon_proxy_retries_total',
      help: 'Tries sent to another instance after a failure, by what failed: connect-failure, reset, gateway-status (502/503/504), other-5xx, conflict (409)',
      labelNames: ['reason'],
    });
    tallied(this.registry, this.tlsFailures, {
      name: 'beacon_proxy_tls_failures_total',
      help: 'TLS connections to instances that failed (each also a connect failure for the breaker), by instance and reason: the certificate check that failed (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID) or handshake',
      labelNames: ['instance', 'reason'],
    });
    talliedNumber(
      this.registry,
      { name: 'beacon_proxy_client_tls_failures_total', help: 'TLS handshakes from clients that failed at the listener (no or a bad client certificate, no common protocol)' },
      () => this.clientTlsFailureCount,
    );
    talliedNumber(
      this.registry,
      { name: 'beacon_proxy_retry_budget_exhausted_total', help: 'Retries not made because the retry budget was spent (too many retries in flight)' },
      () => this.budgetExhaustedCount,
    );
    talliedNumber(
      this.registry,
      { name: 'beacon_proxy_overflow_total', help: 'Requests answered 503 (x-beacon-proxy: overflow) because an instance had too many requests waiting (TCP: connections refused over the cap)' },
      () => this.overflowCount,
    );
    talliedNumber(this.registry, { name: 'beacon_proxy_panic_picks_total', help: 'Instances picked in panic mode (too few usable instances: breakers looked past)' }, () => this.panicPicks);
    talliedNumber(this.registry, { name: 'beacon_proxy_unavailable_total', help: 'Requests answered 503 (TCP: connections closed) because no instance was left to try' }, () => this.unavailableCount);
    talliedNumber(this.registry, { name: 'beacon_proxy_policy_changes_total', help: 'Traffic policies put in force (set, replaced or removed in the registry), the first one at start included' }, () => this.policyChanges);
    new Gauge({
      name: 'beacon_proxy_policy_index',
      help: 'Registry index of the traffic policy in force (0 while only the flags are); equal on every proxy of a service once all have caught up',
      registers: [this.registry],
      collect() {
        this.set(gauges.policyIndex?.() ?? 0);
      },
    });
    new Gauge({
      name: 'beacon_proxy_panic',
      help: '1 while the last pick was made in panic mode',
      registers: [this.registry],
      collect() {
        this.set(gauges.pool.inPanic ? 1 : 0);
      },
    });
    new Gauge({
      name: 'beacon_proxy_instances',
      help: 'Instances the registry lists as healthy, by breaker state',
      labelNames: ['breaker'] as const,
      registers: [this.registry],
      collect() {
        const counts: Record<BreakerState, number> = { closed: 0, open: 0, 'half-open': 0 };
        for (const upstream of gauges.pool.members) counts[upstream.breaker.state] += 1;
        for (const [breaker, count] of Object.entries(counts)) this.set({ breaker }, count);
      },
    });
    new Gauge({
      name: 'beacon_proxy_registry_reachable',
      help: '1 while the registry answers; 0 while the proxy serves the last known instances',
      registers: [this.registry],
      collect() {
        this.set(gauges.registryReachable() ? 1 : 0);
      },
    });
  }

  /** The pool hooks that feed these metrics. */
  readonly poolHooks: UpstreamPoolHooks = {
    transition: (transition: BreakerTransition, upstream: Upstream) => {
      add(this.transitions, `${upstream.id} ${transition}`);
      if (transition === 'trip') add(this.trips, `${upstream.id} ${upstream.breaker.tripCause}`);
    },
    panicked: () => {
      this.panicPicks += 1;
    },
    ejectionRefused: (upstream) => add(this.refusals, upstream.id),
  };

  answered(code: number | string): void {
    add(this.responses, code);
  }

  attempted(upstream: Upstream, outcome: AttemptOutcome): void {
    let counts = this.attemptsByInstance.get(upstream.id);
    if (!counts) this.attemptsByInstance.set(upstream.id, (counts = { success: 0, failure: 0, abandoned: 0 }));
    counts[outcome] += 1;
  }

  retried(reason = 'connect-failure'): void {
    add(this.retries, reason);
  }

  tlsFailed(upstream: Upstream, reason: string): void {
    add(this.tlsFailures, `${upstream.id} ${reason}`);
  }

  clientTlsFailed(): void {
    this.clientTlsFailureCount += 1;
  }

  retryBudgetExhausted(): void {
    this.budgetExhaustedCount += 1;
  }

  overflowed(): void {
    this.overflowCount += 1;
  }

  policyChanged(): void {
    this.policyChanges += 1;
  }

  unavailable(): void {
    this.unavailableCount += 1;
  }
}

function add<K>(tally: Map<K, number>, key: K): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
