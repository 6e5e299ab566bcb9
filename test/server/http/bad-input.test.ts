import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../../contract/clock.js';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { InstanceRegistration } from '../../../contract/instance.js';
import { Registry } from '../../../server/registry/registry.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { tempDir } from '../../support/temp.js';

/**
 * Bad input gets a 4xx JSON error whose `message` names the field, never a 500, and changes
 * nothing: neither the database nor what the registry shows.
 */

interface BadRequest {
  name: string;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  /** Added to (or, given as '', removed from) the default `content-type: application/json`. */
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is sent as JSON. */
  payload?: string | object;
  status: number;
  message: RegExp;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const valid = { address: '10.0.0.9', port: 8080 };
const instance = (id: string) => `/v1/services/web/instances/${id}`;
const heartbeat = (id: string) => `${instance(id)}/heartbeat`;
const maintenance = (id: string) => `${instance(id)}/maintenance`;
const DNS_LABEL_PROBLEM = 'must be one lower-case DNS label';
const ID_PROBLEM = 'may contain only A-Z, a-z, 0-9';
const manyTags = (count: number) => Array.from({ length: count }, (_, i) => `t${i}`);
const manyMeta = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
/** Valid JSON, over the 64 KiB body limit by itself. */
const oversizeBody = JSON.stringify({ ...valid, meta: { big: 'x'.repeat(70 * 1024) } });

const cases: BadRequest[] = [
  // Service names: one lower-case DNS label.
  { name: 'rejects an upper-case service name with a message naming params.service', method: 'PUT', url: '/v1/services/Web/instances/n1', payload: valid, status: 400, message: new RegExp(`^params\\.service: ${DNS_LABEL_PROBLEM}`) },
  { name: 'rejects a service name with an underscore with a message naming params.service', method: 'PUT', url: '/v1/services/my_web/instances/n1', payload: valid, status: 400, message: /^params\.service: / },
  { name: 'rejects a service name with a leading hyphen with a message naming params.service', method: 'PUT', url: '/v1/services/-web/instances/n1', payload: valid, status: 400, message: /^params\.service: / },
  { name: 'rejects a service name with a trailing hyphen with a message naming params.service', method: 'PUT', url: '/v1/services/web-/instances/n1', payload: valid, status: 400, message: /^params\.service: / },
  { name: 'rejects a 64-character service name with a message naming params.service', method: 'PUT', url: `/v1/services/${'a'.repeat(64)}/instances/n1`, payload: valid, status: 400, message: /^params\.service: / },
  { name: 'rejects an empty service name with a message naming params.service', method: 'PUT', url: '/v1/services//instances/n1', payload: valid, status: 400, message: /^params\.service: / },
  { name: 'rejects a service name with a dot with a message naming params.service', method: 'PUT', url: '/v1/services/web.v2/instances/n1', payload: valid, status: 400, message: /^params\.service: / },
  { name: 'refuses to deregister through an upper-case service name, naming params.service', method: 'DELETE', url: '/v1/services/WEB/instances/w1', status: 400, message: /^params\.service: / },
  { name: 'rejects an upper-case service name when listing instances, naming params.service', method: 'GET', url: '/v1/services/Web/instances', status: 400, message: /^params\.service: / },

  // Instance ids: 1-128 of [A-Za-z0-9._-].
  { name: 'rejects a 129-character id with a message naming params.id', method: 'PUT', url: instance('i'.repeat(129)), payload: valid, status: 400, message: /^params\.id: must be at most 128 characters/ },
  { name: 'rejects an id with an encoded slash (a/b) with a message naming params.id', method: 'PUT', url: instance('a%2Fb'), payload: valid, status: 400, message: new RegExp(`^params\\.id: ${ID_PROBLEM}`) },
  { name: 'rejects an id with a space with a message naming params.id', method: 'PUT', url: instance('a%20b'), payload: valid, status: 400, message: new RegExp(`^params\\.id: ${ID_PROBLEM}`) },
  { name: 'rejects an empty id with a message naming params.id', method: 'PUT', url: instance(''), payload: valid, status: 400, message: /^params\.id: must not be empty/ },
  { name: 'rejects a non-ASCII id with a message naming params.id', method: 'PUT', url: instance('caf%C3%A9'), payload: valid, status: 400, message: new RegExp(`^params\\.id: ${ID_PROBLEM}`) },
  { name: 'refuses to deregister an id with an encoded slash, naming params.id', method: 'DELETE', url: instance('w1%2Fx'), status: 400, message: /^params\.id: / },
  { name: 'rejects a heartbeat to an id with a space, naming params.id', method: 'PUT', url: heartbeat('w%201'), status: 400, message: /^params\.id: / },
  { name: 'rejects an id that is not valid percent-encoding with a 400 naming the bad path component', method: 'PUT', url: instance('%E0%A4%A'), payload: valid, status: 400, message: /%E0%A4%A/ },

  // Ports: integers 1-65535.
  { name: 'rejects port 0 with a message naming body.port', method: 'PUT', url: instance('w1'), payload: { ...valid, port: 0 }, status: 400, message: /^body\.port: must be 1-65535$/ },
  { name: 'rejects port 65536 with a message naming body.port', method: 'PUT', url: instance('n1'), payload: { ...valid, port: 65536 }, status: 400, message: /^body\.port: must be 1-65535$/ },
  { name: 'rejects port 1.5 with a message naming body.port', method: 'PUT', url: instance('w1'), payload: { ...valid, port: 1.5 }, status: 400, message: /^body\.port: must be an integer$/ },
  { name: 'rejects port "80" as a string with a message naming body.port', method: 'PUT', url: instance('n1'), payload: { ...valid, port: '80' }, status: 400, message: /^body\.port: must be a number$/ },
  { name: 'rejects port -80 with a message naming body.port', method: 'PUT', url: instance('w1'), payload: { ...valid, port: -80 }, status: 400, message: /^body\.port: must be 1-65535$/ },
  { name: 'rejects a missing port with a message naming body.port', method: 'PUT', url: instance('n1'), payload: { address: valid.address }, status: 400, message: /^body\.port: is required$/ },
  { name: 'rejects port 1e309 (Infinity once parsed) with a message naming body.port', method: 'PUT', url: instance('w1'), payload: '{"address":"10.0.0.9","port":1e309}', status: 400, message: /^body\.port: / },

  // Weights: integers 0-65535.
  { name: 'rejects weight -1 with a message naming body.weight', method: 'PUT', url: instance('w1'), payload: { ...valid, weight: -1 }, status: 400, message: /^body\.weight: must be 0-65535$/ },
  { name: 'rejects weight 65536 with a message naming body.weight', method: 'PUT', url: instance('n1'), payload: { ...valid, weight: 65536 }, status: 400, message: /^body\.weight: must be 0-65535$/ },
  { name: 'rejects weight 2.5 with a message naming body.weight', method: 'PUT', url: instance('w1'), payload: { ...valid, weight: 2.5 }, status: 400, message: /^body\.weight: must be an integer$/ },
  { name: 'rejects weight null with a message naming body.weight', method: 'PUT', url: instance('w1'), payload: { ...valid, weight: null }, status: 400, message: /^body\.weight: must be a number$/ },

  // Addresses: IPv4 or IPv6 literals.
  { name: 'rejects a host name as address with a message naming body.address', method: 'PUT', url: instance('w1'), payload: { ...valid, address: 'db.example.com' }, status: 400, message: /^body\.address: must be an IPv4 or IPv6 literal$/ },
  { name: 'rejects address 999.1.1.1 with a message naming body.address', method: 'PUT', url: instance('n1'), payload: { ...valid, address: '999.1.1.1' }, status: 400, message: /^body\.address: must be an IPv4 or IPv6 literal$/ },
  { name: 'rejects an empty address with a message naming body.address', method: 'PUT', url: instance('w1'), payload: { ...valid, address: '' }, status: 400, message: /^body\.address: must be an IPv4 or IPv6 literal$/ },
  { name: 'rejects a missing address with a message naming body.address', method: 'PUT', url: instance('n1'), payload: { port: 8080 }, status: 400, message: /^body\.address: is required$/ },
  { name: 'rejects a numeric address with a message naming body.address', method: 'PUT', url: instance('w1'), payload: { ...valid, address: 167772169 }, status: 400, message: /^body\.address: must be a string$/ },
  { name: 'rejects a malformed IPv6 address with a message naming body.address', method: 'PUT', url: instance('w1'), payload: { ...valid, address: 'fe80::zz::1' }, status: 400, message: /^body\.address: must be an IPv4 or IPv6 literal$/ },

  // TTL and deregisterAfter.
  { name: 'rejects ttl 0 with a message naming body.ttl', method: 'PUT', url: instance('w1'), payload: { ...valid, ttl: 0 }, status: 400, message: /^body\.ttl: must be 1-86400 seconds$/ },
  { name: 'rejects ttl 86401 with a message naming body.ttl', method: 'PUT', url: instance('n1'), payload: { ...valid, ttl: 86401 }, status: 400, message: /^body\.ttl: must be 1-86400 seconds$/ },
  { name: 'rejects ttl "15" as a string with a message naming body.ttl', method: 'PUT', url: instance('w1'), payload: { ...valid, ttl: '15' }, status: 400, message: /^body\.ttl: must be a number$/ },
  { name: 'rejects ttl 1.5 with a message naming body.ttl', method: 'PUT', url: instance('w1'), payload: { ...valid, ttl: 1.5 }, status: 400, message: /^body\.ttl: must be an integer$/ },
  { name: 'rejects deregisterAfter 0 with a message naming body.deregisterAfter', method: 'PUT', url: instance('w1'), payload: { ...valid, deregisterAfter: 0 }, status: 400, message: /^body\.deregisterAfter: must be at least 1 second$/ },
  { name: 'names every bad field when several are wrong (body.port and body.ttl)', method: 'PUT', url: instance('w1'), payload: { ...valid, port: 0, ttl: 0 }, status: 400, message: /^body\.port: must be 1-65535; body\.ttl: must be 1-86400 seconds$/ },

  // Tags: at most 32 distinct DNS labels.
  { name: 'rejects 33 tags with a message naming body.tags', method: 'PUT', url: instance('w1'), payload: { ...valid, tags: manyTags(33) }, status: 400, message: /^body\.tags: must have at most 32 tags$/ },
  { name: 'rejects a repeated tag with a message naming body.tags', method: 'PUT', url: instance('n1'), payload: { ...valid, tags: ['blue', 'blue'] }, status: 400, message: /^body\.tags: must not repeat a tag$/ },
  { name: 'rejects an upper-case tag with a message naming body.tags.1', method: 'PUT', url: instance('w1'), payload: { ...valid, tags: ['blue', 'Green'] }, status: 400, message: new RegExp(`^body\\.tags\\.1: ${DNS_LABEL_PROBLEM}`) },
  { name: 'rejects a non-string tag with a message naming body.tags.0', method: 'PUT', url: instance('w1'), payload: { ...valid, tags: [7] }, status: 400, message: /^body\.tags\.0: must be a string$/ },
  { name: 'rejects a 64-character tag with a message naming body.tags.0', method: 'PUT', url: instance('n1'), payload: { ...valid, tags: ['t'.repeat(64)] }, status: 400, message: new RegExp(`^body\\.tags\\.0: ${DNS_LABEL_PROBLEM}`) },
  { name: 'rejects tags given as a string with a message naming body.tags', method: 'PUT', url: instance('w1'), payload: { ...valid, tags: 'blue' }, status: 400, message: /^body\.tags: must be an array$/ },

  // Meta: at most 64 string pairs, key <= 128, value <= 512.
  { name: 'rejects 65 meta pairs with a message naming body.meta', method: 'PUT', url: instance('w1'), payload: { ...valid, meta: manyMeta(65) }, status: 400, message: /^body\.meta: must have at most 64 pairs$/ },
  { name: 'rejects a 129-character meta key with a message naming the key and its limit', method: 'PUT', url: instance('n1'), payload: { ...valid, meta: { ['k'.repeat(129)]: 'v' } }, status: 400, message: /^body\.meta\.k{129}: .*at most 128 characters/ },
  { name: 'rejects a 513-character meta value with a message naming body.meta.<key>', method: 'PUT', url: instance('w1'), payload: { ...valid, meta: { owner: 'v'.repeat(513) } }, status: 400, message: /^body\.meta\.owner: must be at most 512 characters$/ },
  { name: 'rejects a non-string meta value with a message naming body.meta.<key>', method: 'PUT', url: instance('w1'), payload: { ...valid, meta: { replicas: 3 } }, status: 400, message: /^body\.meta\.replicas: must be a string$/ },
  { name: 'rejects a meta key with a space with a message naming the key and the allowed characters', method: 'PUT', url: instance('w1'), payload: { ...valid, meta: { 'team name': 'core' } }, status: 400, message: /^body\.meta\.team name: .*may contain only/ },
  { name: 'rejects meta given as an array with a message naming body.meta', method: 'PUT', url: instance('n1'), payload: { ...valid, meta: ['a'] }, status: 400, message: /^body\.meta: / },

  // The body as a whole.
  { name: 'rejects an unknown field (weigth) with a message naming it', method: 'PUT', url: instance('w1'), payload: { ...valid, weigth: 5 }, status: 400, message: /^body: has unknown field weigth$/ },
  { name: 'rejects a JSON array body with a message naming body', method: 'PUT', url: instance('w1'), payload: [valid], status: 400, message: /^body: must be an object$/ },
  { name: 'rejects a JSON string body with a message naming body', method: 'PUT', url: instance('n1'), payload: '"10.0.0.9:8080"', status: 400, message: /^body: must be an object$/ },
  { name: 'rejects a JSON null body with a message naming body', method: 'PUT', url: instance('w1'), payload: 'null', status: 400, message: /^body: is required$/ },
  { name: 'rejects an empty registration body with a message naming body', method: 'PUT', url: instance('n1'), payload: '', status: 400, message: /^body: is required$/ },
  { name: 'rejects malformed JSON with a message naming body', method: 'PUT', url: instance('w1'), payload: '{"address": "10.0.0.9", "port": ', status: 400, message: /^body: is not valid JSON/ },
  { name: 'rejects JSON followed by garbage with a message naming body', method: 'PUT', url: instance('n1'), payload: `${JSON.stringify(valid)} trailing`, status: 400, message: /^body: is not valid JSON/ },
  { name: 'rejects a __proto__ key with a message naming body', method: 'PUT', url: instance('w1'), payload: '{"address":"10.0.0.9","port":8080,"__proto__":{"weight":9}}', status: 400, message: /^body: / },
  { name: 'rejects a body over 64 KiB with 413 and a message naming body', method: 'PUT', url: instance('w1'), payload: oversizeBody, status: 413, message: /^body: must be at most 65536 bytes$/ },
  { name: 'rejects a content-length that does not match the body, naming content-length', method: 'PUT', url: instance('n1'), headers: { 'content-length': '5' }, payload: valid, status: 400, message: /^content-length: / },

  // Content types: JSON only.
  { name: 'rejects text/plain with 415 and a message naming content-type', method: 'PUT', url: instance('w1'), headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(valid), status: 415, message: /^content-type: must be application\/json$/ },
  { name: 'rejects a form-encoded body with 415 and a message naming content-type', method: 'PUT', url: instance('n1'), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'address=10.0.0.9&port=8080', status: 415, message: /^content-type: must be application\/json$/ },
  { name: 'rejects application/jsonp with 415 and a message naming content-type', method: 'PUT', url: instance('w1'), headers: { 'content-type': 'application/jsonp' }, payload: JSON.stringify(valid), status: 415, message: /^content-type: must be application\/json$/ },
  { name: 'rejects a body without a content type with 415 and a message naming content-type', method: 'PUT', url: instance('n1'), headers: { 'content-type': '' }, payload: JSON.stringify(valid), status: 415, message: /^content-type: / },

  // Heartbeats.
  { name: 'rejects heartbeat status "down" with a message naming body.status', method: 'PUT', url: heartbeat('w1'), payload: { status: 'down' }, status: 400, message: /^body\.status: must be one of passing, warning, critical$/ },
  { name: 'rejects a heartbeat claiming maintenance with a message naming body.status', method: 'PUT', url: heartbeat('w2'), payload: { status: 'maintenance' }, status: 400, message: /^body\.status: must be one of passing, warning, critical$/ },
  { name: 'rejects a heartbeat with an unknown field with a message naming it', method: 'PUT', url: heartbeat('w1'), payload: { state: 'passing' }, status: 400, message: /^body: has unknown field state$/ },
  { name: 'rejects heartbeat output of 4097 characters with a message naming body.output', method: 'PUT', url: heartbeat('w3'), payload: { output: 'o'.repeat(4097) }, status: 400, message: /^body\.output: must be at most 4096 characters$/ },
  { name: 'rejects a heartbeat whose body is an array with a message naming body', method: 'PUT', url: heartbeat('w1'), payload: [{ status: 'passing' }], status: 400, message: /^body: must be an object$/ },
  { name: 'rejects a heartbeat with malformed JSON with a message naming body', method: 'PUT', url: heartbeat('w2'), payload: '{"status":', status: 400, message: /^body: is not valid JSON/ },
  { name: 'rejects a text/plain heartbeat with 415 and a message naming content-type', method: 'PUT', url: heartbeat('w1'), headers: { 'content-type': 'text/plain' }, payload: 'passing', status: 415, message: /^content-type: must be application\/json$/ },
  { name: 'rejects a heartbeat body over 64 KiB with 413 and a message naming body', method: 'PUT', url: heartbeat('w1'), payload: JSON.stringify({ output: 'o'.repeat(70 * 1024) }), status: 413, message: /^body: must be at most 65536 bytes$/ },

  // Maintenance.
  { name: 'rejects maintenance without enabled with a message naming body.enabled', method: 'PUT', url: maintenance('w1'), payload: { reason: 'upgrade' }, status: 400, message: /^body\.enabled: is required$/ },
  { name: 'rejects maintenance with enabled "yes" with a message naming body.enabled', method: 'PUT', url: maintenance('w3'), payload: { enabled: 'yes' }, status: 400, message: /^body\.enabled: must be a boolean$/ },
  { name: 'rejects a maintenance reason of 513 characters with a message naming body.reason', method: 'PUT', url: maintenance('w1'), payload: { enabled: true, reason: 'r'.repeat(513) }, status: 400, message: /^body\.reason: must be at most 512 characters$/ },
  { name: 'rejects a maintenance change without a body with a message naming body', method: 'PUT', url: maintenance('w3'), status: 400, message: /^body: is required$/ },

  // Unknown instances: 404 naming the instance.
  { name: 'answers a heartbeat for an unknown instance with 404 naming web/nope', method: 'PUT', url: heartbeat('nope'), payload: {}, status: 404, message: /^instance web\/nope is not registered$/ },
  { name: 'answers a heartbeat for a known id in an unknown service with 404 naming api/w1', method: 'PUT', url: '/v1/services/api/instances/w1/heartbeat', status: 404, message: /^instance api\/w1 is not registered$/ },
  { name: 'answers maintenance for an unknown instance with 404 naming web/nope', method: 'PUT', url: maintenance('nope'), payload: { enabled: true }, status: 404, message: /^instance web\/nope is not registered$/ },
  { name: 'answers a deregistration of an unknown instance with 404 naming web/nope', method: 'DELETE', url: instance('nope'), status: 404, message: /^instance web\/nope is not registered$/ },
  { name: 'answers a read of an unknown instance with 404 naming web/nope', method: 'GET', url: instance('nope'), status: 404, message: /^instance web\/nope is not registered$/ },

  // Query parameters of the list endpoints.
  { name: 'rejects index=abc with a message naming querystring.index', method: 'GET', url: '/v1/services/web/instances?index=abc', status: 400, message: /^querystring\.index: must be a non-negative integer$/ },
  { name: 'rejects index=-1 with a message naming querystring.index', method: 'GET', url: '/v1/services/web/instances?index=-1', status: 400, message: /^querystring\.index: must be a non-negative integer$/ },
  { name: 'rejects wait=10h with a message naming querystring.wait', method: 'GET', url: '/v1/services/web/instances?index=1&wait=10h', status: 400, message: /^querystring\.wait: must be a duration/ },
  { name: 'rejects wait=301s with a message naming querystring.wait', method: 'GET', url: '/v1/services/web/instances?index=1&wait=301s', status: 400, message: /^querystring\.wait: must be at most 300 seconds$/ },
  { name: 'rejects a misspelt query parameter (helthy) instead of ignoring the filter', method: 'GET', url: '/v1/services/web/instances?helthy=true', status: 400, message: /^querystring: has unknown field helthy$/ },
  { name: 'rejects an unknown query parameter on the service list', method: 'GET', url: '/v1/services?tags=blue', status: 400, message: /^querystring: has unknown field tags$/ },
  { name: 'rejects healthy=yes with a message naming querystring.healthy', method: 'GET', url: '/v1/services/web/instances?healthy=yes', status: 400, message: /^querystring\.healthy: must be true or false$/ },
  { name: 'rejects status=bogus with a message naming querystring.status', method: 'GET', url: '/v1/services/web/instances?status=bogus', status: 400, message: /^querystring\.status\.0: must list only passing, warning, critical or maintenance$/ },
  { name: 'rejects tag=UPPER with a message naming querystring.tag', method: 'GET', url: '/v1/services/web/instances?tag=UPPER', status: 400, message: new RegExp(`^querystring\\.tag: ${DNS_LABEL_PROBLEM}`) },
  { name: 'rejects a bad second tag with a message naming querystring.tag.1', method: 'GET', url: '/v1/services/web/instances?tag=blue&tag=Bad', status: 400, message: new RegExp(`^querystring\\.tag\\.1: ${DNS_LABEL_PROBLEM}`) },
  { name: 'rejects index=abc on the service list with a message naming querystring.index', method: 'GET', url: '/v1/services?index=abc', status: 400, message: /^querystring\.index: must be a non-negative integer$/ },
  { name: 'rejects wait=5x on the service list with a message naming querystring.wait', method: 'GET', url: '/v1/services?index=1&wait=5x', status: 400, message: /^querystring\.wait: must be a duration/ },

  // Token administration (validated whether or not ACL is on; with it off, valid calls answer 404).
  { name: 'rejects a token of an unknown kind with a message naming body.kind', method: 'POST', url: '/v1/acl/tokens', payload: { kind: 'root' }, status: 400, message: /^body\.kind: / },
  { name: 'rejects a service token without services with a message naming body.services', method: 'POST', url: '/v1/acl/tokens', payload: { kind: 'service' }, status: 400, message: /^body\.services: must list at least one service for a service token$/ },
  { name: 'rejects a service token for a bad service name with a message naming body.services.0', method: 'POST', url: '/v1/acl/tokens', payload: { kind: 'service', services: ['Bad_Name'] }, status: 400, message: new RegExp(`^body\\.services\\.0: ${DNS_LABEL_PROBLEM}`) },
  { name: 'rejects an unknown token field with a message naming it', method: 'POST', url: '/v1/acl/tokens', payload: { kind: 'read', admin: true }, status: 400, message: /^body: has unknown field admin$/ },
  { name: 'rejects a token id with a slash-free but bad character with a message naming params.id', method: 'DELETE', url: '/v1/acl/tokens/bad%20id', status: 400, message: /^params\.id: must be a token id/ },
  { name: 'answers token administration with ACL off by 404 saying how to turn it on', method: 'GET', url: '/v1/acl/tokens', status: 404, message: /^ACL is off: start beacon server with --acl/ },

  // The operator's controls.
  { name: 'rejects a self-preservation change without enabled with a message naming body.enabled', method: 'PUT', url: '/v1/operator/self-preservation', payload: {}, status: 400, message: /^body\.enabled: / },
  { name: 'rejects a self-preservation change with enabled="no" with a message naming body.enabled', method: 'PUT', url: '/v1/operator/self-preservation', payload: { enabled: 'no' }, status: 400, message: /^body\.enabled: / },

  // Routes that do not exist.
  { name: 'answers an unknown route with 404 naming the route', method: 'GET', url: '/v1/servics', status: 404, message: /^no route GET \/v1\/servics$/ },
  { name: 'answers a POST to an instance (registration is PUT) with 404 naming the route', method: 'POST', url: instance('w1'), payload: valid, status: 404, message: /^no route POST \/v1\/services\/web\/instances\/w1$/ },
];

/** What must not move: the rows on disk and everything the registry shows. */
function snapshot(store: SqliteStore, registry: Registry) {
  const services = registry.listServices();
  return {
    stored: store.load(),
    services,
    web: registry.listInstances('web'),
    instancesByService: Object.fromEntries(services.map(({ name }) => [name, registry.listInstances(name)])),
    catalogIndex: registry.catalogIndex(),
    webIndex: registry.serviceIndex('web'),
    pendingLiveness: registry.pendingLiveness,
  };
}

function assertErrorBody(status: number, contentType: string | undefined, body: unknown, message: RegExp): void {
  assert.match(contentType ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(body as object).sort(), ['error', 'message', 'statusCode']);
  const { statusCode, error, message: actual } = body as { statusCode: unknown; error: unknown; message: unknown };
  assert.equal(statusCode, status);
  assert.equal(error, STATUS_CODES[status]);
  assert.equal(typeof actual, 'string');
  assert.match(actual as string, message);
}

function payloadOf(row: BadRequest): string | undefined {
  if (row.payload === undefined) return undefined;
  return typeof row.payload === 'string' ? row.payload : JSON.stringify(row.payload);
}

/** JSON by default when there is a body; a header given as '' is left out altogether. */
function headersOf(row: BadRequest, payload: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...(payload !== undefined ? JSON_TYPE : {}), ...row.headers };
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== ''));
}

describe('bad input to the HTTP API', () => {
  let store: SqliteStore;
  let registry: Registry;
  let app: FastifyInstance;
  const clock = new ManualClock();

  before(async () => {
    store = new SqliteStore({ path: join(tempDir({ after }), 'beacon.db') });
    registry = new Registry({ store, clock });
    app = await buildApp({ registry, metrics: new Metrics(), logLevel: false });
    const seed = (id: string, fields: Record<string, unknown>) =>
      registry.register('web', id, InstanceRegistration.parse({ address: '10.0.0.1', port: 8080, ...fields }));
    seed('w1', { tags: ['blue'], meta: { owner: 'core' } });
    seed('w2', { address: '10.0.0.2', weight: 5, ttl: 30 });
    registry.heartbeat('web', 'w2', { status: 'warning', output: 'slow disk' });
    seed('w3', { address: 'fd00::3', port: 9090 });
    registry.setMaintenance('web', 'w3', { enabled: true, reason: 'kernel upgrade' });
    registry.register('api', 'a1', InstanceRegistration.parse({ address: '10.0.1.1', port: 443 }));
  });

  after(async () => {
    await app?.close();
    store?.close();
  });

  test('the table covers at least 40 bad requests', () => {
    assert.ok(cases.length >= 40, `only ${cases.length} cases`);
    assert.equal(new Set(cases.map((row) => row.name)).size, cases.length, 'case names are unique');
  });

  test('the seeded registry is what the cases run against', () => {
    assert.deepEqual(
      registry.listInstances('web').map(({ id, status }) => [id, status]),
      [
        ['w1', 'passing'],
        ['w2', 'warning'],
        ['w3', 'maintenance'],
      ],
    );
    assert.equal(store.load().instances.length, 4);
  });

  for (const row of cases) {
    test(`${row.method} ${row.url.length > 70 ? `${row.url.slice(0, 70)}…` : row.url}: ${row.name}`, async () => {
      // Time moves between cases, so a request that slipped through (a heartbeat, say) shows.
      clock.advance(1000);
      const beforeState = snapshot(store, registry);
      const payload = payloadOf(row);
      const response = await app.inject({
        method: row.method,
        url: row.url,
        headers: headersOf(row, payload),
        ...(payload !== undefined ? { payload } : {}),
      });
      assert.equal(response.statusCode, row.status, `status (body: ${response.body.slice(0, 300)})`);
      assertErrorBody(row.status, response.headers['content-type'] as string | undefined, response.json(), row.message);
      assert.deepEqual(snapshot(store, registry), beforeState, 'the store and the registry are unchanged');
    });
  }

  describe('over a real socket', () => {
    let baseUrl: string;

    before(async () => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      assert.ok(address && typeof address === 'object');
      baseUrl = `http://127.0.0.1:${address.port}`;
    });

    const socketCases: Array<{ name: string; init: () => RequestInit; status: number; message: RegExp }> = [
      {
        name: 'rejects malformed JSON with 400 naming body, as inject does',
        init: () => ({ method: 'PUT', headers: JSON_TYPE, body: '{"address": "10.0.0.9", "port": ' }),
        status: 400,
        message: /^body: is not valid JSON/,
      },
      {
        name: 'rejects a body over 64 KiB (with content-length) with 413 naming body, as inject does',
        init: () => ({ method: 'PUT', headers: JSON_TYPE, body: oversizeBody }),
        status: 413,
        message: /^body: must be at most 65536 bytes$/,
      },
      {
        name: 'rejects a chunked body over 64 KiB (no content-length) with 413 naming body',
        init: () => {
          const bytes = new TextEncoder().encode(oversizeBody);
          const chunk = 16 * 1024;
          const stream = new ReadableStream<Uint8Array>({
            start(controller) {
              for (let at = 0; at < bytes.length; at += chunk) controller.enqueue(bytes.subarray(at, at + chunk));
              controller.close();
            },
          });
          return { method: 'PUT', headers: JSON_TYPE, body: stream, duplex: 'half' } as RequestInit;
        },
        status: 413,
        message: /^body: must be at most 65536 bytes$/,
      },
      {
        name: 'rejects text/plain with 415 naming content-type, as inject does',
        init: () => ({ method: 'PUT', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(valid) }),
        status: 415,
        message: /^content-type: must be application\/json$/,
      },
    ];

    for (const row of socketCases) {
      test(row.name, async () => {
        clock.advance(1000);
        const beforeState = snapshot(store, registry);
        const response = await fetch(`${baseUrl}${instance('w1')}`, row.init());
        const text = await response.text();
        assert.equal(response.status, row.status, `status (body: ${text.slice(0, 300)})`);
        assertErrorBody(row.status, response.headers.get('content-type') ?? undefined, JSON.parse(text), row.message);
        assert.deepEqual(snapshot(store, registry), beforeState, 'the store and the registry are unchanged');
      });
    }
  });
});
