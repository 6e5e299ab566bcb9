import { isIP } from 'node:net';
import type { InstanceRecord } from '../../registry/instance-record.js';
import type { CatalogService, ConsulCheckStatus, ServiceEntry } from './consul-shapes.js';

/**
 * Beacon's instances in Consul's shapes. Consul places every service on a node; Beacon has
 * none, so each instance's address stands for its node (the node name is the address, as for
 * services Consul's ESM registers on external hosts). Each instance has one TTL check,
 * `service:<id>`; maintenance adds Consul's own `_service_maintenance:<id>` check, critical,
 * which is how Consul (and Prometheus' `__meta_consul_health`) shows maintenance.
 */
type Record = Readonly<InstanceRecord>;

const DEFAULT_MAINTENANCE_NOTES = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

/** The check's status without maintenance: what the TTL check itself says. */
function checkStatusOf(instance: Record): ConsulCheckStatus {
  return instance.expired ? 'critical' : instance.checkStatus;
}

function taggedAddresses(address: string): { [key: string]: string } {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return { lan: address, [`lan_${family}`]: address, wan: address, [`wan_${family}`]: address };
}

export function serviceEntry(instance: Record, datacenter: string): ServiceEntry {
  const node = instance.address;
  const check = {
    Node: node,
    ServiceID: instance.id,
    ServiceName: instance.service,
    ServiceTags: instance.tags,
  };
  const checks: ServiceEntry['Checks'] = [
    {
      ...check,
      CheckID: `service:${instance.id}`,
      Name: `Service '${instance.service}' check`,
      Status: checkStatusOf(instance),
      Notes: '',
      Output: instance.expired ? 'TTL expired' : instance.output,
      Type: 'ttl',
    },
  ];
  if (instance.maintenance) {
    checks.push({
      ...check,
      CheckID: `_service_maintenance:${instance.id}`,
      Name: 'Service Maintenance Mode',
      Status: 'critical',
      Notes: instance.maintenanceReason ?? DEFAULT_MAINTENANCE_NOTES,
      Output: '',
      Type: 'maintenance',
    });
  }
  return {
    Node: { ID: '', Node: node, Address: instance.address, Datacenter: datacenter, TaggedAddresses: taggedAddresses(instance.address), Meta: {} },
    Service: {
      ID: instance.id,
      Service: instance.service,
      Tags: instance.tags,
      Address: instance.address,
      Port: instance.port,
      Meta: instance.meta,
      Weights: { Passing: instance.weight, Warning: instance.weight },
      EnableTagOverride: false,
      Datacenter: datacenter,
    },
    Checks: checks,
  };
}

export function catalogService(instance: Record, datacenter: string): CatalogService {
  return {
    ID: '',
    Node: instance.address,
    Address: instance.address,
    Datacenter: datacenter,
    TaggedAddresses: taggedAddresses(instance.address),
    NodeMeta: {},
    ServiceID: instance.id,
    ServiceName: instance.service,
    ServiceTags: instance.tags,
    ServiceAddress: instance.address,
    ServicePort: instance.port,
    ServiceMeta: instance.meta,
    ServiceWeights: { Passing: instance.weight, Warning: instance.weight },
    ServiceEnableTagOverride: false,
  };
}

/** Consul's `?passing`: only instances whose every check passes (so no warning, no maintenance). */
export function isPassing(instance: Record): boolean {
  return !instance.maintenance && checkStatusOf(instance) === 'passing';
}

/** The tags an instance set carries, each once, sorted. */
export function tagsOf(instances: Iterable<Record>): string[] {
  const tags = new Set<string>();
  for (const instance of instances) for (const tag of instance.tags) tags.add(tag);
  return [...tags].sort();
}

/** Instances sorted by node then id, as Consul sorts a service's nodes; filtered by tags (all must match). */
export function selectInstances(instances: Iterable<Record> | undefined, filter: { tags: string[]; passingOnly: boolean }): Record[] {
  const selected: Record[] = [];
  for (const instance of instances ?? []) {
    if (filter.passingOnly && !isPassing(instance)) continue;
    if (!filter.tags.every((tag) => instance.tags.includes(tag))) continue;
    selected.push(instance);
  }
  return selected.sort((a, b) => compare(a.address, b.address) || compare(a.id, b.id));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
