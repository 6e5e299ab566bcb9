import type { DnsSummary } from './dns.js';
import { LARGE, SMALL_INSTANCES, WIDE } from './dns-fleet.js';
import type { ProxySummary } from './proxy/proxy-bench.js';
import type { HttpSummary } from './registry-http.js';

/** The targets set by the issue that asked for this benchmark. */
export const TARGETS = {
  /** Beacon's heartbeat req/s at least this share of the bare fastify route's. */
  minHeartbeatThroughputRatio: 0.9,
  /** Beacon's heartbeat p99 at most this multiple of the bare route's p99. */
  maxHeartbeatP99Ratio: 1.5,
  minRegistrationsPerSecond: 3000,
  /** Beacon's heartbeat req/s over HTTPS (keep-alive) at least this share of its own over HTTP. */
  minHttpsHeartbeatRatio: 0.85,
} as const;

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export function checkTargets(summary: HttpSummary): TargetCheck[] {
  const registrationsPerSecond = summary.registrations.requestsPerSecond;
  return [
    {
      name: 'Heartbeat throughput vs bare fastify',
      target: `≥ ${TARGETS.minHeartbeatThroughputRatio}×`,
      measured: `${summary.ratios.requestsPerSecond.toFixed(2)}×`,
      met: summary.ratios.requestsPerSecond >= TARGETS.minHeartbeatThroughputRatio,
    },
    {
      name: 'Heartbeat p99 vs bare fastify',
      target: `≤ ${TARGETS.maxHeartbeatP99Ratio}×`,
      measured: `${summary.ratios.p99.toFixed(2)}×`,
      met: summary.ratios.p99 <= TARGETS.maxHeartbeatP99Ratio,
    },
    {
      name: 'Heartbeat throughput over HTTPS vs HTTP',
      target: `≥ ${TARGETS.minHttpsHeartbeatRatio}×`,
      measured: `${summary.httpsRatios.requestsPerSecond.toFixed(2)}× (bare fastify's own: ${summary.bareHttpsRatios.requestsPerSecond.toFixed(2)}×)`,
      met: summary.httpsRatios.requestsPerSecond >= TARGETS.minHttpsHeartbeatRatio,
    },
    {
      name: 'Registrations',
      target: `≥ ${TARGETS.minRegistrationsPerSecond.toLocaleString('en-US')}/s`,
      measured: `${Math.round(registrationsPerSecond).toLocaleString('en-US')}/s`,
      met: registrationsPerSecond >= TARGETS.minRegistrationsPerSecond,
    },
  ];
}

/** The targets set by the issue that asked for the DNS benchmark. */
export const DNS_TARGETS = {
  /** Beacon's QPS at least this share of the raw node:dgram responder's. */
  minCeilingRatio: 0.9,
  /** QPS with 100,000 instances at least this share of the QPS with 100. */
  minLargeRegistryRatio: 0.9,
  /** The 1,000-instance SRV answer over TCP, median round trip (far below Consul's, its #4036: docs/benchmarks.md). */
  maxWideTcpMs: 5,
  /** p99 at half Beacon's peak rate. */
  maxHalfRateP99Ms: 1,
} as const;

export function checkDnsTargets(summary: DnsSummary): TargetCheck[] {
  const { ratios, tcp } = summary;
  const p99 = summary.halfRate.beacon.p99Ms ?? Number.POSITIVE_INFINITY;
  // The ceiling's and dnsmasq's p99 in the same runs show how much of the tail is the machine's own.
  const ceilingP99 = summary.halfRate.ceiling.p99Ms ?? Number.NaN;
  const dnsmasqP99 = summary.halfRate.dnsmasq?.p99Ms;
  return [
    {
      name: 'QPS vs the Node ceiling',
      target: `≥ ${DNS_TARGETS.minCeilingRatio}×`,
      measured: `${ratios.beaconQps.toFixed(2)}×`,
      met: ratios.beaconQps >= DNS_TARGETS.minCeilingRatio,
    },
    {
      name: `QPS with ${LARGE.instances.toLocaleString('en-US')} instances vs ${SMALL_INSTANCES}`,
      target: `≥ ${DNS_TARGETS.minLargeRegistryRatio}×`,
      measured: `${ratios.largeQps.toFixed(2)}×`,
      met: ratios.largeQps >= DNS_TARGETS.minLargeRegistryRatio,
    },
    {
      name: `${WIDE.instances.toLocaleString('en-US')}-instance SRV over TCP (median round trip)`,
      target: `≤ ${DNS_TARGETS.maxWideTcpMs} ms`,
      measured: `${tcp.medianMs.toFixed(2)} ms (p99 ${tcp.p99Ms.toFixed(2)} ms)`,
      met: tcp.medianMs <= DNS_TARGETS.maxWideTcpMs,
    },
    {
      name: 'p99 at half the peak rate',
      target: `≤ ${DNS_TARGETS.maxHalfRateP99Ms} ms`,
      measured: `${p99.toFixed(2)} ms (ceiling ${ceilingP99.toFixed(2)} ms${dnsmasqP99 === undefined ? '' : `, dnsmasq ${dnsmasqP99.toFixed(2)} ms`})`,
      met: p99 <= DNS_TARGETS.maxHalfRateP99Ms,
    },
  ];
}

/** The targets set by the issue that asked for the proxy benchmark. */
export const PROXY_TARGETS = {
  /** `beacon proxy`'s req/s at least this multiple of the minimal node:http + undici forwarder's. */
  minMinimalForwarderRatio: 1.0,
  /** `beacon proxy` ahead of http-proxy: its req/s above this multiple of http-proxy's. */
  aboveHttpProxyRatio: 1.0,
  /** `beacon proxy`'s p99 at most this multiple of the minimal forwarder's. */
  maxP99Ratio: 1.2,
  /** Issue 14: `beacon proxy` with a policy in force (split, outlier, retry budget): req/s at least this multiple of without. */
  minPolicyRatio: 0.95,
  /** Issue 14: `beacon proxy`'s req/s at least this multiple of the undici dispatch forwarder's … */
  minDispatchForwarderRatio: 1.0,
  /** … and its CPU per request at most this multiple of that forwarder's. */
  maxDispatchCpuRatio: 1.0,
} as const;

export function checkProxyTargets(summary: ProxySummary): TargetCheck[] {
  const { minimal, dispatch, dispatchHeaders, httpProxy } = summary.beaconVs;
  const { policyVsNone } = summary;
  const failures = (summary.medians.beacon?.failures ?? 0) + (summary.medians.beaconPolicy?.failures ?? 0);
  const measured = (value: number | undefined) => (value === undefined ? 'not measured' : `${value.toFixed(2)}×`);
  return [
    {
      name: 'Throughput vs the minimal Node forwarder',
      target: `≥ ${PROXY_TARGETS.minMinimalForwarderRatio.toFixed(1)}×`,
      measured: measured(minimal?.requestsPerSecond),
      met: minimal !== undefined && minimal.requestsPerSecond >= PROXY_TARGETS.minMinimalForwarderRatio,
    },
    {
      name: 'Throughput vs http-proxy',
      target: `> ${PROXY_TARGETS.aboveHttpProxyRatio.toFixed(1)}×`,
      measured: measured(httpProxy?.requestsPerSecond),
      met: httpProxy !== undefined && httpProxy.requestsPerSecond > PROXY_TARGETS.aboveHttpProxyRatio,
    },
    {
      name: 'Throughput with a policy in force vs without',
      target: `≥ ${PROXY_TARGETS.minPolicyRatio.toFixed(2)}×`,
      measured: measured(policyVsNone?.requestsPerSecond),
      met: policyVsNone !== undefined && policyVsNone.requestsPerSecond >= PROXY_TARGETS.minPolicyRatio,
    },
    {
      name: 'Throughput vs the undici dispatch forwarder',
      target: `≥ ${PROXY_TARGETS.minDispatchForwarderRatio.toFixed(1)}×`,
      measured: measured(dispatch?.requestsPerSecond),
      met: dispatch !== undefined && dispatch.requestsPerSecond >= PROXY_TARGETS.minDispatchForwarderRatio,
    },
    {
      name: 'CPU per request vs the undici dispatch forwarder',
      target: `≤ ${PROXY_TARGETS.maxDispatchCpuRatio.toFixed(1)}×`,
      measured: measured(dispatch?.cpuPerRequest),
      met: dispatch?.cpuPerRequest !== undefined && dispatch.cpuPerRequest <= PROXY_TARGETS.maxDispatchCpuRatio,
    },
    {
      // Not one of the issue's targets: the same bound against the dispatch forwarder doing the
      // header work too, which tells what the rest of `beacon proxy` costs.
      name: 'CPU per request vs the dispatch forwarder with forwarding headers (reference)',
      target: `≤ ${PROXY_TARGETS.maxDispatchCpuRatio.toFixed(1)}×`,
      measured: measured(dispatchHeaders?.cpuPerRequest),
      met: dispatchHeaders?.cpuPerRequest !== undefined && dispatchHeaders.cpuPerRequest <= PROXY_TARGETS.maxDispatchCpuRatio,
    },
    {
      name: 'p99 vs the minimal Node forwarder',
      target: `≤ ${PROXY_TARGETS.maxP99Ratio}×`,
      measured: measured(minimal?.p99),
      met: minimal !== undefined && minimal.p99 <= PROXY_TARGETS.maxP99Ratio,
    },
    {
      // Not one of the issue's targets, but the others mean nothing without it.
      name: 'Failed requests through `beacon proxy`, with and without the policy (all rounds)',
      target: '0',
      measured: String(failures),
      met: failures === 0,
    },
  ];
}
