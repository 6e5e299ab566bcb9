import { DEMO_INSTANCES, DEMO_SERVICE, type DemoConfig } from './demo-config.js';

/** The first line of the tour: printed once everything answers (tests wait for it). */
export const READY_LINE = 'Beacon demo ready';

export interface TourProcesses {
  registry?: number | undefined;
  proxy?: number | undefined;
  services: (number | undefined)[];
}

/**
 * What the demo prints once it is up: what runs where, and commands to try against it. With
 * `caCert` (`--tls`) the registry, the instances and the proxy are https and every command
 * trusts that CA.
 */
export function tour(config: DemoConfig, pids: TourProcesses, caCert?: string): string {
  // Over http, curl's default scheme keeps the commands short; over https they name the scheme and the CA.
  const registryUrl = `${caCert ? 'https' : 'http'}://127.0.0.1:${config.httpPort}`;
  const registry = caCert ? registryUrl : `127.0.0.1:${config.httpPort}`;
  const curl = caCert ? `curl --cacert ${caCert}` : 'curl';
  const scheme = caCert ? 'https' : 'http';
  const proxyUrl = `${scheme}://127.0.0.1:${config.proxyPort}`;
  const proxy = caCert ? proxyUrl : `127.0.0.1:${config.proxyPort}`;
  const admin = `127.0.0.1:${config.adminPort}`;
  const pid = (value: number | undefined) => (value === undefined ? '' : `pid ${value}`);
  const domain = 'beacon.internal';
  const last = DEMO_INSTANCES[DEMO_INSTANCES.length - 1]!;
  const frozen = DEMO_INSTANCES[1]!;
  const frozenPid = pids.services[1] ?? 'PID';
  const rows = [
    ['registry', registryUrl, `HTTP${caCert ? 'S' : ''} API, dashboard /ui, Swagger /docs; DNS on 127.0.0.1:${config.dnsPort} (udp+tcp); db ${config.db}`, pid(pids.registry)],
    ...DEMO_INSTANCES.map((instance, i) => [
      instance.id,
      `${scheme}://127.0.0.1:${config.basePort + i}`,
      `instance of "${DEMO_SERVICE}", weight ${instance.weight}, tag ${instance.tags.join(',')}, TTL ${config.ttl} s`,
      pid(pids.services[i]),
    ]),
    ['proxy', proxyUrl, `beacon proxy --service ${DEMO_SERVICE}${caCert ? ', verifying instances against the CA' : ''}; admin http://${admin} (/stats, /metrics)`, pid(pids.proxy)],
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map(([name, url, what, id]) => `  ${name!.padEnd(widths[0]!)}  ${url!.padEnd(widths[1]!)}  ${what}${id ? `  (${id})` : ''}`);

  return [
    '',
    `${READY_LINE}: registry ${registryUrl}, DNS 127.0.0.1:${config.dnsPort}, proxy ${proxyUrl}`,
    '',
    ...table,
    '',
    'Things to try (in another terminal):',
    '',
    `  # Balancing: smooth weighted round-robin, weights 1:2:3 -> web-1 once, web-2 twice, web-3 three times in 6`,
    `  for i in 1 2 3 4 5 6; do ${curl} -s ${proxy}/; done`,
    '',
    '  # DNS: SRV records with weights and ports, addresses in the additional section; by tag',
    `  dig @127.0.0.1 -p ${config.dnsPort} ${DEMO_SERVICE}.service.${domain} SRV`,
    `  dig @127.0.0.1 -p ${config.dnsPort} green.${DEMO_SERVICE}.service.${domain} SRV +short`,
    '',
    '  # The registry: services, instances with their health, the change index for blocking queries',
    `  ${curl} -s ${registry}/v1/services`,
    `  ${curl} -si '${registry}/v1/services/${DEMO_SERVICE}/instances?healthy=true'`,
    `  ${curl} -s ${registry}/v1/catalog/services          # Consul-compatible: what Prometheus discovers`,
    `  open ${registryUrl}/ui (dashboard) and ${registryUrl}/docs (API)${caCert ? ' (a browser does not know the demo CA: accept the warning, or import it)' : ''}`,
    '',
    ...(caCert
      ? [
          '  # The CLI over https: the registry and its CA, here for the whole shell (BEACON_REGISTRY_CA, not BEACON_TLS_CA: that is the server\'s)',
          `  export BEACON_REGISTRY=${registryUrl} BEACON_REGISTRY_CA=${caCert}`,
          `  npx beacon services; npx beacon instances ${DEMO_SERVICE}`,
          '',
        ]
      : []),
    `  # Maintenance takes ${last.id} out of DNS and the proxy at once; "enabled": false brings it back`,
    `  ${curl} -s -X PUT ${registry}/v1/services/${DEMO_SERVICE}/instances/${last.id}/maintenance \\`,
    `    -H 'content-type: application/json' -d '{"enabled": true, "reason": "demo"}'`,
    '',
    `  # Freeze ${frozen.id}: no heartbeats, critical after its ${config.ttl} s TTL, then gone from DNS and the proxy`,
    `  kill -STOP ${frozenPid}; sleep ${config.ttl + 2}; ${curl} -s '${registry}/v1/services/${DEMO_SERVICE}/instances?status=critical'; kill -CONT ${frozenPid}`,
    '',
    '  # Metrics (Prometheus text): the registry, the proxy, one instance',
    `  ${curl} -s ${registry}/metrics | grep ^beacon_`,
    `  curl -s ${admin}/metrics | grep ^beacon_proxy_upstream_attempts`,
    `  ${curl} -s ${caCert ? 'https://' : ''}127.0.0.1:${config.basePort}/metrics | grep ^demo_`,
    '',
    'Ctrl-C stops everything: the proxy, the services (they deregister), then the registry.',
    '',
  ].join('\n');
}
