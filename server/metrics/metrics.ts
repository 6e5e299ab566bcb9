import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import type { HealthStatus } from '../../contract/instance.js';
import type { RegistryEvents } from '../registry/registry.js';
import { tallied, talliedNumber } from '../../contract/tallied-counter.js';
import { TalliedHistogram } from '../../contract/tallied-histogram.js';

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };

/** What the cluster metrics read from a node's etcd store when scraped. */
export interface ClusterGauges {
  stats(): { appliedRevision: number; latestRevision: number; relists: number };
  nodeCount(): number;
  lastContactMs(): number | undefined;
}

/** What the metrics read from the registry when scraped. */
export interface RegistryGauges {
  countByStatus(): Record<HealthStatus, number>;
  readonly blockedQueries: number;
  readonly pendingLiveness: number;
  readonly selfPreservationState: { engaged: boolean; withheld: number };
}

/**
 * Beacon's Prometheus metrics, in a registry of their own (no global state), so several
 * servers can live in one process, as they do in tests.
 */
export class Metrics {
  readonly registry = new MetricsRegistry();
  /** Requests by `method route status`, counted in plain numbers (see observeHttp). */
  private readonly httpTally = new Map<string, number>();
  readonly httpRequests = tallied(this.registry, this.httpTally, {
    name: 'beacon_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'],
  });
  readonly httpDuration = new TalliedHistogram(
    'beacon_http_request_duration_seconds',
    'HTTP request latency, by method and route (blocking queries included)',
    ['method', 'route'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
  );
  private heartbeatCount = 0;
  readonly heartbeats = talliedNumber(this.registry, { name: 'beacon_heartbeats_total', help: 'Heartbeats received for registered instances' }, () => this.heartbeatCount);
  readonly expirations = new Counter({
    name: 'beacon_expirations_total',
    help: 'Instances turned critical because their TTL ran out',
    registers: [this.registry],
  });
  readonly removals = new Counter({
    name: 'beacon_removals_total',
    help: 'Instances removed after staying critical for deregisterAfter',
    registers: [this.registry],
  });
  readonly storageErrors = new Counter({
    name: 'beacon_storage_errors_total',
    help: 'Failed database writes (the change was refused or retried)',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  /**
   * DNS answers are tallied in plain numbers and handed to prom-client at scrape time: even a
   * kept label child hashes its labels on every `inc`, a cost that showed in DNS profiles
   * (docs/benchmarks.md).
   */
  private readonly dnsTallies = {
    responses: new Map<string, number>(),
    truncated: new Map<string, number>(),
    dropped: new Map<string, number>(),
    rateLimited: new Map<string, number>(),
    failures: new Map<string, number>(),
  };

  readonly dnsQueries = tallied(this.registry, this.dnsTallies.responses, {
    name: 'beacon_dns_responses_total',
    help: 'DNS answers sent, by transport and rcode (FORMERR, NOTIMP and REFUSED count bad or foreign queries)',
    labelNames: ['transport', 'rcode'],
  });
  readonly dnsTruncated = tallied(this.registry, this.dnsTallies.truncated, {
    name: 'beacon_dns_truncated_total',
    help: 'DNS answers cut to fit the size limit, with TC set',
    labelNames: ['transport'],
  });
  readonly dnsDropped = tallied(this.registry, this.dnsTallies.dropped, {
    name: 'beacon_dns_dropped_total',
    help: 'DNS packets dropped unanswered: no readable header, or a response instead of a query',
    labelNames: ['transport'],
  });
  readonly dnsRateLimited = tallied(this.registry, this.dnsTallies.rateLimited, {
    name: 'beacon_dns_rate_limited_total',
    help: 'UDP queries dropped by the per-source response-rate limit (--dns-rate-limit)',
    labelNames: [],
  });
  readonly dnsFailures = tallied(this.registry, this.dnsTallies.failures, {
    name: 'beacon_dns_failures_total',
    help: 'DNS queries whose answer failed inside Beacon (answered SERVFAIL); a bug if not zero',
    labelNames: ['transport'],
  });

  /**
   * Per-request HTTP counting for the hot path: plain numbers, read at scrape time. Each
   * route's counters are found through maps keyed by the route's own string and the status
   * number, so no key is built per request (prom-client's label children hash their labels on
   * every call, which showed in heartbeat profiles: docs/benchmarks.md).
   */
  readonly observeHttp: (method: string, route: string, status: number, seconds: number) => void = this.httpObserver();

  private httpObserver(): (method: string, route: string, status: number, seconds: number) => void {
    const tally = this.httpTally;
    const routes = new Map<string, Map<string, { duration: (seconds: number) => void; statusKeys: Map<number, string> }>>();
    return (method, route, status, seconds) => {
      let methods = routes.get(route);
      if (!methods) routes.set(route, (methods = new Map()));
      let entry = methods.get(method);
      if (!entry) methods.set(method, (entry = { duration: this.httpDuration.observer({ method, route }), statusKeys: new Map() }));
      let key = entry.statusKeys.get(status);
      if (key === undefined) entry.statusKeys.set(status, (key = `${method} ${route} ${status}`));
      tally.set(key, (tally.get(key) ?? 0) + 1);
      entry.duration(seconds);
    };
  }

  /** Per-query counting for the DNS hot path: plain numbers, read at scrape time. */
  dnsCounters() {
    const { responses, truncated, dropped, failures, rateLimited } = this.dnsTallies;
    const add = (tally: Map<string, number>, key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
    // Keys are `transport` or `transport rcode`, split back into labels at scrape time.
    const rcodeKeys = { udp: new Map<number, string>(), tcp: new Map<number, string>() };
    return {
      answered: (transport: 'udp' | 'tcp', rcode: number, wasTruncated: boolean) => {
        let key = rcodeKeys[transport].get(rcode);
        if (key === undefined) rcodeKeys[transport].set(rcode, (key = `${transport} ${RCODE_NAMES[rcode] ?? rcode}`));
        add(responses, key);
        if (wasTruncated) add(truncated, transport);
      },
      dropped: (transport: 'udp' | 'tcp') => add(dropped, transport),
      rateLimited: () => add(rateLimited, ''),
      failed: (transport: 'udp' | 'tcp') => add(failures, transport),
    };
  }

  /** Hooks the registry core calls; the core itself knows nothing of Prometheus. */
  readonly registryEvents: RegistryEvents = {
    heartbeat: () => {
      this.heartbeatCount += 1;
    },
    expired: (count) => this.expirations.inc(count),
    removed: (count) => this.removals.inc(count),
  };

  constructor() {
    this.httpDuration.registerIn(this.registry);
    collectDefaultMetrics({ register: this.registry, prefix: 'beacon_' });
  }

  /** A cluster node's link to etcd: request latency, how far its view lags, re-lists, nodes, last contact. */
  observeCluster(source: ClusterGauges): (operation: string, seconds: number, ok: boolean) => void {
    const requests = new Histogram({
      name: 'beacon_etcd_request_duration_seconds',
      help: 'Requests this node made to etcd, by operation (txn: a write, range: a list) and outcome',
      labelNames: ['operation', 'outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    const gauges: [string, string, () => number][] = [
      ['beacon_etcd_watch_lag_revisions', 'Revisions etcd has told this node of that its view has not applied yet', () => source.stats().latestRevision - source.stats().appliedRevision],
      ['beacon_cluster_nodes', 'Live nodes of the cluster, this one included', () => source.nodeCount()],
      ['beacon_etcd_last_contact_seconds', 'Seconds since etcd last answered this node (-1: never)', () => {
        const ms = source.lastContactMs();
        return ms === undefined ? -1 : ms / 1000;
      }],
    ];
    for (const [name, help, read] of gauges) new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
    new Counter({
      name: 'beacon_etcd_relists_total',
      help: 'Times this node listed the registry again because etcd compacted the history its watch needed',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(source.stats().relists);
      },
    });
    return (operation, seconds, ok) => requests.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  /**
   * The HTTP API's certificate: reloads (SIGHUP) by outcome, and when the certificate served
   * to new connections expires, so an alert can fire before clients start failing.
   */
  observeTls(expiresAt: number): { reloaded(outcome: 'ok' | 'failed'): void; served(expiresAt: number): void } {
    const reloads = new Counter({
      name: 'beacon_tls_reloads_total',
      help: 'Reloads of the HTTP API certificate (SIGHUP), by outcome; failed: the previous certificate stays',
      labelNames: ['outcome'] as const,
      registers: [this.registry],
    });
    for (const outcome of ['ok', 'failed'] as const) reloads.inc({ outcome }, 0);
    const expiry = new Gauge({
      name: 'beacon_tls_certificate_expiry_timestamp_seconds',
      help: "notAfter of the certificate the HTTP API serves to new connections, in seconds since the epoch",
      registers: [this.registry],
    });
    expiry.set(expiresAt);
    return { reloaded: (outcome) => reloads.inc({ outcome }), served: (seconds) => expiry.set(seconds) };
  }

  /** Gauges read from the DNS server's TCP connections at scrape time. */
  observeDnsTcp(read: () => { open: number; paused: number; bufferedBytes: number }): void {
    const gauges = {
      open: ['beacon_dns_tcp_connections', 'Open DNS-over-TCP connections'],
      paused: ['beacon_dns_tcp_paused_connections', 'DNS-over-TCP connections not read from until their peer reads the answers already sent'],
      bufferedBytes: ['beacon_dns_tcp_buffered_bytes', 'Bytes held for DNS-over-TCP connections: queries not yet answered and answers not yet sent'],
    } as const;
    for (const [field, [name, help]] of Object.entries(gauges)) {
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()[field as keyof typeof gauges]); } });
    }
  }

  /** Gauges read from the registry at scrape time, so the hot paths never update them. */
  observe(source: RegistryGauges): void {
    new Gauge({
      name: 'beacon_instances',
      help: 'Registered instances by health status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect() {
        for (const [status, count] of Object.entries(source.countByStatus())) this.set({ status }, count);
      },
    });
    new Gauge({
      name: 'beacon_blocking_queries',
      help: 'Blocking queries currently waiting for a change',
      registers: [this.registry],
      collect() {
        this.set(source.blockedQueries);
      },
    });
    new Gauge({
      name: 'beacon_self_preservation',
      help: '1 while self-preservation holds expiries back (too many instances stopped heartbeating at once)',
      registers: [this.registry],
      collect() {
        this.set(source.selfPreservationState.engaged ? 1 : 0);
      },
    });
    new Gauge({
      name: 'beacon_expirations_withheld',
      help: 'Instances whose TTL ran out but self-preservation keeps from turning critical',
      registers: [this.registry],
      collect() {
        this.set(source.selfPreservationState.withheld);
      },
    });
    new Gauge({
      name: 'beacon_liveness_pending',
      help: 'Heartbeat times held in memory, not yet written to the database',
      registers: [this.registry],
      collect() {
        this.set(source.pendingLiveness);
      },
    });
  }
}
