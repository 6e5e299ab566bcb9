import type { z } from 'zod';
import type { Heartbeat, Instance, InstanceRegistration, MaintenanceChange, ServiceSummary } from '../../contract/instance.js';
import type { TrafficPolicy } from '../../contract/traffic-policy.js';
import type { paths } from './openapi-types.js';

/**
 * The bodies RegistryApi sends and the answers it reads, as the committed OpenAPI document
 * (openapi/openapi.json, through the generated openapi-types.ts) describes them. RegistryApi's
 * signatures use these types, and the checks below pin them to the registry's zod schemas, so
 * the client, the document and the server cannot disagree without `tsc` failing.
 */

type Method = 'get' | 'put' | 'post' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The JSON request body of an operation (never when it takes none). */
export type RequestBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

/** The JSON answer of an operation with the given status (never when it has none). */
export type AnswerBody<P extends keyof paths, M extends Method, S extends number> =
  Operation<P, M>['responses'] extends { [K in S]: { content: { 'application/json': infer Body } } } ? Body : never;

/** The query string an operation accepts. */
export type QueryOf<P extends keyof paths, M extends Method> = NonNullable<Operation<P, M>['parameters']['query']>;

type InstancePath = '/v1/services/{service}/instances/{id}';
type InstanceListPath = '/v1/services/{service}/instances';
type PolicyPath = '/v1/services/{service}/policy';

export type ApiRegistration = RequestBody<InstancePath, 'put'>;
export type ApiHeartbeat = RequestBody<`${InstancePath}/heartbeat`, 'put'>;
export type ApiMaintenanceChange = RequestBody<`${InstancePath}/maintenance`, 'put'>;
export type ApiInstance = AnswerBody<InstancePath, 'put', 200>;
export type ApiServiceSummary = AnswerBody<'/v1/services', 'get', 200>[number];
export type ApiInstanceListQuery = QueryOf<InstanceListPath, 'get'>;

/** true when A and B accept exactly the same values (and neither is never). */
type Same<A, B> = [A] extends [never] ? false : [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** true when every A is a B. */
type Fits<A, B> = [A] extends [never] ? false : [A] extends [B] ? true : false;

/** Every check must be true: a false one fails `tsc` with "Types of property '<check>' are incompatible". */
type AllTrue<T extends Record<string, true>> = T;

export type OpenApiContract = AllTrue<{
  // What the client may send is what the server validates, field for field.
  registrationBody: Same<ApiRegistration, z.input<typeof InstanceRegistration>>;
  heartbeatBody: Same<ApiHeartbeat, z.input<typeof Heartbeat>>;
  maintenanceBody: Same<ApiMaintenanceChange, z.input<typeof MaintenanceChange>>;
  // What the server answers is what the client parses.
  replacedAnswer: Same<ApiInstance, Instance>;
  createdAnswer: Same<AnswerBody<InstancePath, 'put', 201>, Instance>;
  heartbeatAnswer: Same<AnswerBody<`${InstancePath}/heartbeat`, 'put', 200>, Instance>;
  maintenanceAnswer: Same<AnswerBody<`${InstancePath}/maintenance`, 'put', 200>, Instance>;
  instanceListAnswer: Same<AnswerBody<InstanceListPath, 'get', 200>, Instance[]>;
  serviceListAnswer: Same<ApiServiceSummary, ServiceSummary>;
  // The query parameters RegistryApi sends exist.
  instanceListQuery: Fits<'healthy' | 'tag' | 'index' | 'wait', keyof ApiInstanceListQuery>;
  serviceListQuery: Fits<'index' | 'wait', keyof QueryOf<'/v1/services', 'get'>>;
  // A traffic policy reads back as it is sent.
  policyBody: Same<RequestBody<PolicyPath, 'put'>, z.input<typeof TrafficPolicy>>;
  policyAnswer: Same<AnswerBody<PolicyPath, 'get', 200>, TrafficPolicy>;
  policyQuery: Fits<'index' | 'wait', keyof QueryOf<PolicyPath, 'get'>>;
}>;
