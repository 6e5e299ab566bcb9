import type { Clock } from '../../contract/clock.js';
import type { TrafficPolicy } from '../../contract/traffic-policy.js';
import { type CommittedChange, type PolicyRecord, type StoreChange, StoreConflict, type StoredPolicy } from '../store/store.js';
import type { ChangeIndex, WaitOutcome } from './change-index.js';
import { RegistryError } from './errors.js';

/** The change-index key of a service's policy: no service name holds a "/", so it clashes with none. */
export function policyKey(service: string): string {
  return `policy/${service}`;
}

/** The change-index key of the list of every policy: moved by any policy's change. */
export const ALL_POLICIES = 'policy/*';

type PolicyChange = Extract<CommittedChange, { kind: 'put-policy' | 'delete-policy' }>;

export interface TrafficPoliciesOptions {
  clock: Clock;
  /** The registry's change indexes: a policy has its own key, so its watchers wake for it alone. */
  changes: ChangeIndex;
  /** Commits durably; the store hands the change back to `apply` (through the registry) before this resolves. */
  commit(changes: StoreChange[], touched: ReadonlySet<string>): Promise<void>;
  loaded?: readonly StoredPolicy[];
}

/** How often a write is made again after another node changed the same policy first. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * Every service's traffic policy (SPEC: Traffic policy), held in memory like the instances and
 * changed the same way: written to the store first, applied when the store hands the change
 * back, so in a cluster every node applies every node's changes through one path.
 */
export class TrafficPolicies {
  private readonly policies = new Map<string, StoredPolicy>();

  constructor(private readonly options: TrafficPoliciesOptions) {
    for (const record of options.loaded ?? []) this.policies.set(record.service, record);
  }

  get(service: string): TrafficPolicy | undefined {
    return this.policies.get(service)?.policy;
  }

  /** Every service's policy, by service name in name order. */
  all(): Record<string, TrafficPolicy> {
    const services = [...this.policies.keys()].sort();
    return Object.fromEntries(services.map((service) => [service, this.policies.get(service)!.policy]));
  }

  listIndex(): number {
    return this.options.changes.of(ALL_POLICIES);
  }

  waitForList(after: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.options.changes.wait(ALL_POLICIES, after, timeoutMs, signal);
  }

  /** How many services have a policy. */
  get size(): number {
    return this.policies.size;
  }

  index(service: string): number {
    return this.options.changes.of(policyKey(service));
  }

  wait(service: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.options.changes.wait(policyKey(service), after, timeoutMs, signal);
  }

  /** Sets (or replaces) the service's policy; `created` when it had none. */
  async set(service: string, policy: TrafficPolicy): Promise<{ created: boolean }> {
    let created = false;
    await this.write(service, (before) => {
      created = before === undefined;
      if (before && JSON.stringify(before.policy) === JSON.stringify(policy)) return undefined; // the same: nothing to commit
      const record: PolicyRecord = { service, policy, updatedAt: this.options.clock.now() };
      return { kind: 'put-policy', policy: record, expectedVersion: before?.version ?? 0 };
    });
    return { created };
  }

  /** Removes the service's policy; false when it had none. */
  async delete(service: string): Promise<boolean> {
    let existed = false;
    await this.write(service, (before) => {
      existed = before !== undefined;
      return before ? { kind: 'delete-policy', service, expectedVersion: before.version ?? 0 } : undefined;
    });
    return existed;
  }

  /** A committed policy change, from this node or another; adds the change-index keys it moves to `touched`. */
  apply(change: PolicyChange, index: number, touched: Set<string>): void {
    const service = change.kind === 'put-policy' ? change.policy.service : change.service;
    if (change.kind === 'put-policy') this.policies.set(service, { ...change.policy, version: change.policy.version ?? index });
    else this.policies.delete(service);
    touched.add(policyKey(service)).add(ALL_POLICIES);
  }

  private async write(service: string, change: (before: StoredPolicy | undefined) => StoreChange | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const next = change(this.policies.get(service));
      if (!next) return;
      try {
        await this.options.commit([next], new Set([policyKey(service), ALL_POLICIES]));
        return;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error;
        if (attempt >= MAX_CONFLICT_RETRIES) {
          throw new RegistryError('storage_failed', `the policy of "${service}" kept changing at other nodes while this one wrote it; send it again`, { cause: error });
        }
      }
    }
  }
}
