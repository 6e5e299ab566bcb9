/**
 * The fleet the benches register: instance i-<n> of service svc-<n % services>.
 * wrk/heartbeat.lua builds the same names, so every heartbeat it sends hits a registered instance.
 */
export interface Fleet {
  instances: number;
  services: number;
}

export interface InstanceName {
  service: string;
  id: string;
}

export function instanceName(fleet: Fleet, n: number): InstanceName {
  return { service: `svc-${n % fleet.services}`, id: `i-${n}` };
}

export function instancePath(fleet: Fleet, n: number): string {
  const { service, id } = instanceName(fleet, n);
  return `/v1/services/${service}/instances/${id}`;
}

/** Nothing expires during a run, so every heartbeat stays on the plain-liveness path and no sweep writes compete with it. */
export const REGISTRATION_TTL_SECONDS = 60;

/** What every bench instance registers with: an answer of about the size real ones have (each run reports it in docs/benchmarks.md). */
export const REGISTRATION = {
  address: '10.0.0.1',
  port: 8080,
  ttl: REGISTRATION_TTL_SECONDS,
  tags: ['http'],
  meta: { version: '1.4.2' },
};

export const REGISTRATION_BODY = JSON.stringify(REGISTRATION);
