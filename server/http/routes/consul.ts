import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { waitIfAsked } from '../blocking.js';
import { catalogService, selectInstances, serviceEntry, tagsOf } from '../consul/consul-catalog.js';
import { consulQuery, consulServiceQuery, setConsulHeaders } from '../consul/consul-query.js';
import { AgentSelf, CatalogService, CatalogServices, ServiceEntry } from '../consul/consul-shapes.js';
import { ErrorBody } from '../errors.js';

export interface ConsulOptions {
  /** The datacenter name clients see (Consul's `dc`); default dc1. */
  datacenter: string;
  version: string;
}

// Consul's service names are free text; one Beacon cannot hold simply has no instances.
const ServiceParam = z.object({ service: z.string().min(1).max(256) });
// Old Consul clients (python-consul) can only send their token as ?token=.
const config = { queryToken: true };
const errors = { 400: ErrorBody, 429: ErrorBody.describe('Too many blocking queries from this client'), 503: ErrorBody };

/**
 * The read subset of Consul's HTTP API that service discovery uses (Prometheus'
 * consul_sd_configs first of all), answered from the registry's memory with blocking queries.
 * Writes stay Beacon's own. What is and is not covered: docs/integrations.md.
 */
export const consulRoutes: FastifyPluginAsyncZod<ConsulOptions> = async (app, { datacenter, version }) => {
  const registry = app.registry;
  const query = consulQuery(datacenter);
  const serviceQuery = consulServiceQuery(datacenter);

  app.get(
    '/v1/agent/self',
    { config, schema: { summary: "The agent's configuration (Consul-compatible)", tags: ['consul'], querystring: query, response: { 200: AgentSelf, ...errors } } },
    async (request, reply) => {
      setConsulHeaders(reply, registry.catalogIndex());
      const { localAddress = '', localPort = 0 } = request.socket;
      return {
        Config: { Datacenter: datacenter, NodeName: 'beacon', NodeID: '', Server: true, Version: version },
        Member: { Name: 'beacon', Addr: localAddress, Port: localPort, Status: 1 },
        Meta: {},
      };
    },
  );

  app.get(
    '/v1/status/leader',
    { config, schema: { summary: 'The leader: this server (Consul-compatible)', tags: ['consul'], response: { 200: z.string() } } },
    async (request, reply) => {
      setConsulHeaders(reply, registry.catalogIndex());
      // Consul answers a JSON string; fastify would send a returned string as bare text.
      void reply.type('application/json; charset=utf-8');
      return JSON.stringify(`${request.socket.localAddress ?? ''}:${request.socket.localPort ?? 0}`);
    },
  );

  app.get(
    '/v1/catalog/datacenters',
    { config, schema: { summary: 'Datacenters: this one (Consul-compatible)', tags: ['consul'], response: { 200: z.array(z.string()) } } },
    async (_request, reply) => {
      setConsulHeaders(reply, registry.catalogIndex());
      return [datacenter];
    },
  );

  app.get(
    '/v1/catalog/services',
    {
      config,
      schema: {
        summary: 'Services and their tags (Consul-compatible, blocking)',
        tags: ['consul'],
        querystring: query,
        response: { 200: CatalogServices.describe('Every registered service, whatever its health, with the tags its instances carry'), ...errors },
      },
    },
    async (request, reply) => {
      await waitIfAsked(reply, request.query, (after, ms, signal) => registry.waitForCatalog(after, ms, signal));
      setConsulHeaders(reply, registry.catalogIndex());
      const services: z.infer<typeof CatalogServices> = {};
      for (const { name } of registry.listServices()) services[name] = tagsOf(registry.serviceInstances(name) ?? []);
      return services;
    },
  );

  app.get(
    '/v1/catalog/service/:service',
    {
      config,
      schema: {
        summary: "A service's instances, flattened (Consul-compatible, blocking)",
        tags: ['consul'],
        params: ServiceParam,
        querystring: serviceQuery,
        response: { 200: z.array(CatalogService).describe('Every instance, whatever its health'), ...errors },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      await waitIfAsked(reply, request.query, (after, ms, signal) => registry.waitForService(service, after, ms, signal));
      setConsulHeaders(reply, registry.serviceIndex(service));
      const selected = selectInstances(registry.serviceInstances(service), { tags: request.query.tag ?? [], passingOnly: false });
      return selected.map((instance) => catalogService(instance, datacenter));
    },
  );

  app.get(
    '/v1/health/service/:service',
    {
      config,
      schema: {
        summary: "A service's instances with their checks (Consul-compatible, blocking)",
        description: 'Statuses map one to one; maintenance adds a critical `_service_maintenance:<id>` check, as Consul shows it.',
        tags: ['consul'],
        params: ServiceParam,
        querystring: serviceQuery,
        response: { 200: z.array(ServiceEntry), ...errors },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      await waitIfAsked(reply, request.query, (after, ms, signal) => registry.waitForService(service, after, ms, signal));
      setConsulHeaders(reply, registry.serviceIndex(service));
      const filter = { tags: request.query.tag ?? [], passingOnly: request.query.passing ?? false };
      return selectInstances(registry.serviceInstances(service), filter).map((instance) => serviceEntry(instance, datacenter));
    },
  );
};
