/**
 * An instance as the registry core keeps it: what was registered, what its heartbeats last
 * said, and where it stands in the health model (health.ts derives its status from these
 * fields). The transports read it to build their answers and the store persists it, so it
 * belongs to the core, not to either: a second store plugs in without a transport noticing.
 *
 * Times are milliseconds since the Unix epoch.
 */
export interface InstanceRecord {
  service: string;
  id: string;
  address: string;
  port: number;
  weight: number;
  tags: string[];
  meta: Record<string, string>;
  ttlMs: number;
  deregisterAfterMs: number;
  /** Last status a heartbeat reported (or passing after registration). */
  checkStatus: 'passing' | 'warning' | 'critical';
  output: string;
  maintenance: boolean;
  maintenanceReason: string | null;
  /** True once the TTL ran out without a heartbeat: the instance is critical until one arrives. */
  expired: boolean;
  /** When the instance last turned critical (by report or expiry); null while it is not. */
  criticalSince: number | null;
  registeredAt: number;
  lastHeartbeatAt: number;
}
