import { writeFileSync } from 'node:fs';
import type { Registration } from './support/beacon-http.js';
import { REGISTRATION } from './support/fleet.js';

/**
 * What the DNS bench registers. dnsperf always asks about the same 50 services of 2 instances,
 * half A and half SRV. The small registry holds only them (100 instances); the large one adds
 * 99,900 more, so 100,000 instances over 10,000 services: 1,000 in one wide service (the TCP
 * probe asks for it), the rest ~10 to a service. The queried services' answers are the same
 * bytes in both, so the ratio of the two measures the registry's size alone, not answer sizes.
 */
export const QUERIED = { services: 50, instancesPerService: 2 } as const;
export const WIDE = { service: 'wide', instances: 1_000 } as const;
export const LARGE = { instances: 100_000, services: 10_000 } as const;

export const DOMAIN = 'beacon.internal';
export const QUERY_TYPES = ['A', 'SRV'] as const;

/** An hour: nothing expires during a run, and nothing heartbeats. */
const TTL_SECONDS = 3_600;

const QUERIED_INSTANCES = QUERIED.services * QUERIED.instancesPerService;
const BACKGROUND_SERVICES = LARGE.services - QUERIED.services - 1;

export const SMALL_INSTANCES = QUERIED_INSTANCES;

/** Instance n of the small registry: the queried services alone. */
export function smallRegistration(n: number): Registration {
  return registration(`svc-${n % QUERIED.services}`, `i-${n}`, n);
}

/** Instance n of the large registry: the queried services, the wide one, then the rest. */
export function largeRegistration(n: number): Registration {
  if (n < QUERIED_INSTANCES) return smallRegistration(n);
  if (n < QUERIED_INSTANCES + WIDE.instances) return registration(WIDE.service, `w-${n}`, n);
  return registration(`bg-${(n - QUERIED_INSTANCES - WIDE.instances) % BACKGROUND_SERVICES}`, `i-${n}`, n);
}

/** Every instance its own address, so SRV answers carry one additional record per instance. */
function registration(service: string, id: string, n: number): Registration {
  return {
    path: `/v1/services/${service}/instances/${id}`,
    body: JSON.stringify({ ...REGISTRATION, address: instanceAddress(n), ttl: TTL_SECONDS }),
  };
}

/** The IPv4 address of instance n, in either registry. */
export function instanceAddress(n: number): string {
  return `10.${((n + 1) >> 16) & 0xff}.${((n + 1) >> 8) & 0xff}.${(n + 1) & 0xff}`;
}

/** The queried services and the addresses of their instances, as the small registry holds them. */
export function queriedServices(): { service: string; addresses: string[] }[] {
  return Array.from({ length: QUERIED.services }, (_, s) => ({
    service: `svc-${s}`,
    addresses: Array.from({ length: QUERIED.instancesPerService }, (_, i) => instanceAddress(s + i * QUERIED.services)),
  }));
}

export interface Question {
  name: string;
  type: (typeof QUERY_TYPES)[number];
}

/** The 50/50 A/SRV mix over the queried services, in the order dnsperf sends it. */
export function queriedQuestions(): Question[] {
  return Array.from({ length: QUERIED.services }, (_, s) =>
    QUERY_TYPES.map((type) => ({ name: `svc-${s}.service.${DOMAIN}`, type })),
  ).flat();
}

/** dnsperf's input: one `<name> <type>` a line. */
export function writeQueryFile(path: string): void {
  writeFileSync(path, queriedQuestions().map((question) => `${question.name} ${question.type}\n`).join(''));
}
