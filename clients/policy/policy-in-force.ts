import { EventEmitter } from 'node:events';
import type { TrafficPolicy } from '../../contract/traffic-policy.js';
import { type EffectivePolicy, type PolicyDefaults, type PolicySources, resolvePolicy } from './effective-policy.js';

/** One change of the policy in force, as listeners get it. */
export interface PolicyChange {
  policy: EffectivePolicy;
  previous: EffectivePolicy;
  sources: PolicySources;
  /** The registry index the policy came from; 0 while only the flags are in force. */
  index: number;
}

export interface PolicyInForceEvents {
  change: [change: PolicyChange];
}

/**
 * The traffic policy a proxy follows right now: the registry's policy for the service resolved
 * over the flags, with each field's source and the registry index it came from. Each change
 * replaces the whole EffectivePolicy object, never mutating the old one, so a request that
 * read the policy when it started keeps those settings to its end while the next request
 * reads the new one.
 */
export class PolicyInForce extends EventEmitter<PolicyInForceEvents> {
  private effective: EffectivePolicy;
  private fieldSources: PolicySources;
  private registryPolicy: TrafficPolicy | undefined;
  private fromIndex = 0;

  constructor(private readonly defaults: PolicyDefaults) {
    super();
    ({ policy: this.effective, sources: this.fieldSources } = resolvePolicy(undefined, defaults));
  }

  /** The policy in force; also usable detached, as a getter (`const read = inForce.read`). */
  readonly read = (): EffectivePolicy => this.effective;

  get policy(): EffectivePolicy {
    return this.effective;
  }

  get sources(): PolicySources {
    return this.fieldSources;
  }

  /** The registry's policy as it was set (undefined: none is set, the flags decide). */
  get registered(): TrafficPolicy | undefined {
    return this.registryPolicy;
  }

  get index(): number {
    return this.fromIndex;
  }

  /** Puts the service's policy (or its absence) at `index` in force and tells the listeners. */
  apply(policy: TrafficPolicy | undefined, index: number): void {
    const previous = this.effective;
    ({ policy: this.effective, sources: this.fieldSources } = resolvePolicy(policy, this.defaults));
    this.registryPolicy = policy;
    this.fromIndex = index;
    this.emit('change', { policy: this.effective, previous, sources: this.fieldSources, index });
  }
}
