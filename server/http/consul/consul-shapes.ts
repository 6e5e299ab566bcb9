import { z } from 'zod';

/**
 * The subset of Consul's JSON that Consul clients read (Prometheus' consul_sd_configs,
 * python-consul, the npm `consul` package), field names as Consul spells them. Every field is
 * listed: answers are serialized from these schemas, which drop anything not named here.
 */

const StringMap = z.record(z.string(), z.string());
const Weights = z.object({ Passing: z.number().int(), Warning: z.number().int() });

export const ConsulCheckStatus = z.enum(['passing', 'warning', 'critical']);
export type ConsulCheckStatus = z.infer<typeof ConsulCheckStatus>;

export const ConsulNode = z.object({
  ID: z.string(),
  Node: z.string().describe("Beacon has no nodes: each instance's address stands for one"),
  Address: z.string(),
  Datacenter: z.string(),
  TaggedAddresses: StringMap,
  Meta: StringMap,
});

export const ConsulService = z.object({
  ID: z.string(),
  Service: z.string(),
  Tags: z.array(z.string()),
  Address: z.string(),
  Port: z.number().int(),
  Meta: StringMap,
  Weights,
  EnableTagOverride: z.boolean(),
  Datacenter: z.string(),
});

export const ConsulCheck = z.object({
  Node: z.string(),
  CheckID: z.string(),
  Name: z.string(),
  Status: ConsulCheckStatus,
  Notes: z.string(),
  Output: z.string(),
  ServiceID: z.string(),
  ServiceName: z.string(),
  ServiceTags: z.array(z.string()),
  Type: z.string(),
});

/** One element of GET /v1/health/service/{service}. */
export const ServiceEntry = z.object({ Node: ConsulNode, Service: ConsulService, Checks: z.array(ConsulCheck) });
export type ServiceEntry = z.infer<typeof ServiceEntry>;

/** One element of GET /v1/catalog/service/{service}: the node and service flattened. */
export const CatalogService = z.object({
  ID: z.string(),
  Node: z.string(),
  Address: z.string(),
  Datacenter: z.string(),
  TaggedAddresses: StringMap,
  NodeMeta: StringMap,
  ServiceID: z.string(),
  ServiceName: z.string(),
  ServiceTags: z.array(z.string()),
  ServiceAddress: z.string(),
  ServicePort: z.number().int(),
  ServiceMeta: StringMap,
  ServiceWeights: Weights,
  ServiceEnableTagOverride: z.boolean(),
});
export type CatalogService = z.infer<typeof CatalogService>;

/** GET /v1/catalog/services: each service with the tags its instances carry. */
export const CatalogServices = z.record(z.string(), z.array(z.string()));

/** GET /v1/agent/self: what clients read of it (Prometheus: Config.Datacenter). */
export const AgentSelf = z.object({
  Config: z.object({
    Datacenter: z.string(),
    NodeName: z.string(),
    NodeID: z.string(),
    Server: z.boolean(),
    Version: z.string().describe("Beacon's version"),
  }),
  Member: z.object({ Name: z.string(), Addr: z.string(), Port: z.number().int(), Status: z.number().int() }),
  Meta: StringMap,
});
export type AgentSelf = z.infer<typeof AgentSelf>;
