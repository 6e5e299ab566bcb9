import type { Clock } from '../../contract/clock.js';
import type { InstanceRecord } from './instance-record.js';
import { type CommitOptions, type CommittedBatch, type Store, type StoreChange, StoreConflict, type StoredInstance } from '../store/store.js';
import { ChangeIndex, type WaitOutcome } from './change-index.js';
import { DeadlineQueue } from './deadline-queue.js';
import { LivenessBacklog } from './liveness-backlog.js';
import { DEFAULT_SELF_PRESERVATION, SelfPreservation, type SelfPreservationOptions, type SelfPreservationState } from './self-preservation.js';
import { RegistryError } from './errors.js';
import { TrafficPolicies } from './traffic-policies.js';
import { isCritical, type LiveInstance, nextDeadline, revise, statusOf, toView, visiblyDiffers } from './health.js';
import type {
  HealthStatus,
  Heartbeat,
  Instance,
  InstanceRegistration,
  MaintenanceChange,
  ServiceSummary,
} from '../../contract/instance.js';

/** Counters for metrics; the core stays free of any metrics library. */
export interface RegistryEvents {
  heartbeat?(): void;
  expired?(count: number): void;
  removed?(count: number): void;
}

export interface RegistryOptions {
  store: Store;
  clock: Clock;
  /** Bound on concurrently blocked queries. */
  maxWaiters?: number;
  events?: RegistryEvents;
  selfPreservation?: SelfPreservationOptions;
  caps?: InstanceCaps;
  /**
   * Whether this node expires and removes the instance (in a cluster, exactly one live node
   * does); a single node owns every instance.
   */
  owns?: (service: string, id: string) => boolean;
  /**
   * How long past its TTL an instance waits before it expires: in a cluster, the time a
   * heartbeat taken at another node may take to reach this one (0 for a single node).
   */
  expiryGraceMs?: number;
}

/** Bounds on the fleet, so one runaway client cannot fill the registry's memory. */
export interface InstanceCaps {
  instances: number;
  instancesPerService: number;
}

export const DEFAULT_CAPS: InstanceCaps = { instances: 250_000, instancesPerService: 25_000 };

export interface InstanceFilter {
  statuses?: ReadonlySet<HealthStatus>;
  /** Every tag listed must be present. */
  tags?: readonly string[];
}

export interface SweepResult {
  expired: number;
  removed: number;
  /** Expiries held back by self-preservation. */
  withheld: number;
  /** True when the batch limit cut the sweep short: call again soon. */
  more: boolean;
}

/** The change-index key of the service list (no service can be named `*`). */
const CATALOG = '*';

/** How soon an expiry held back by self-preservation is looked at again. */
const HELD_EXPIRY_RECHECK_MS = 1_000;

/** How often a write is made again after another node changed the same instance first. */
const MAX_CONFLICT_RETRIES = 5;

interface Change {
  before?: LiveInstance;
  after?: LiveInstance;
}

/**
 * The registry core: every instance lives in memory, which serves all reads; durable changes
 * (register, deregister, maintenance, status changes, expiry, removal) are written to the store
 * before they are applied and acknowledged; plain heartbeats refresh memory only and reach the
 * store later through `flushLiveness`, in chunks.
 */
export class Registry {
  private readonly services = new Map<string, Map<string, LiveInstance>>();
  private readonly deadlines = new DeadlineQueue<LiveInstance>();
  private readonly dirtyLiveness = new LivenessBacklog<LiveInstance>();
  private readonly changes: ChangeIndex;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly events: RegistryEvents;
  private readonly selfPreservation: SelfPreservation<LiveInstance>;
  private readonly caps: InstanceCaps;
  private readonly owns: (service: string, id: string) => boolean;
  private readonly expiryGraceMs: number;
  private instanceCount = 0;
  /** Every service's traffic policy, kept and changed like the instances. */
  readonly policies: TrafficPolicies;

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.events = options.events ?? {};
    this.selfPreservation = new SelfPreservation(options.selfPreservation ?? DEFAULT_SELF_PRESERVATION);
    this.caps = options.caps ?? DEFAULT_CAPS;
    this.owns = options.owns ?? (() => true);
    this.expiryGraceMs = options.expiryGraceMs ?? 0;
    const state = this.store.load();
    this.changes = new ChangeIndex(state.lastIndex, options.maxWaiters ?? 10_000, state.keyIndexes);
    this.policies = new TrafficPolicies({
      clock: this.clock,
      changes: this.changes,
      commit: (changes, touched) => this.commitToStore(changes, { touched }),
      loaded: state.policies,
    });
    const now = this.clock.now();
    for (const record of state.instances) {
      // Restart grace: a registry restart must never expire the fleet, so every instance
      // gets one full TTL from now to heartbeat again.
      // (An instance already expired keeps the moment it expired.)
      const expiresAt = record.expired ? record.lastHeartbeatAt + record.ttlMs : Math.max(record.lastHeartbeatAt, now) + record.ttlMs;
      this.place(liveInstance(record, record.lastHeartbeatAt, expiresAt, record.version ?? 0));
    }
    this.store.subscribe((batch) => this.applyCommitted(batch));
  }

  async register(service: string, id: string, registration: InstanceRegistration): Promise<{ instance: Instance; created: boolean }> {
    let created = false;
    const instance = await this.write(service, id, (before) => {
      if (!before) this.checkCaps(service, id);
      created = !before;
      const now = this.clock.now();
      const ttlMs = registration.ttl * 1000;
      const after: LiveInstance = {
        service,
        id,
        address: registration.address,
        port: registration.port,
        weight: registration.weight,
        tags: registration.tags,
        meta: registration.meta,
        ttlMs,
        deregisterAfterMs: registration.deregisterAfter * 1000,
        checkStatus: 'passing',
        output: '',
        // Maintenance is the operator's decision: a restarting instance does not undo it.
        maintenance: before?.maintenance ?? false,
        maintenanceReason: before?.maintenanceReason ?? null,
        expired: false,
        criticalSince: null,
        registeredAt: now,
        lastHeartbeatAt: now,
        version: before?.version ?? 0,
        expiresAt: now + ttlMs,
        scheduledAt: Infinity,
      };
      return after;
    });
    return { instance: toView(instance!), created };
  }

  async heartbeat(service: string, id: string, heartbeat: Heartbeat): Promise<Instance> {
    const status = heartbeat.status ?? 'passing';
    const output = heartbeat.output ?? '';
    this.events.heartbeat?.();
    let renewed: LiveInstance | undefined;
    const stored = await this.write(service, id, (instance) => {
      if (!instance) throw notFound(service, id);
      const now = this.clock.now();
      if (!instance.expired && status === instance.checkStatus) {
        this.renew(instance, now, output);
        renewed = instance;
        return undefined;
      }
      return revise(instance, {
        checkStatus: status,
        output,
        expired: false,
        criticalSince: status !== 'critical' ? null : isCritical(instance) ? instance.criticalSince : now,
        lastHeartbeatAt: now,
        expiresAt: now + instance.ttlMs,
      });
    });
    return toView(stored ?? renewed!);
  }

  /**
   * A bare heartbeat (no status, no output), taken only when it renews liveness in memory: the
   * instance is known, not expired and passing, so there is nothing to store and nothing that
   * can fail. Returns the renewed record, or undefined having touched nothing. The record is
   * read-only; the next heartbeat moves its times. The HTTP fast path
   * (server/http/heartbeat-fast-path.ts) serves only these heartbeats.
   */
  renewInMemory(service: string, id: string): Readonly<LiveInstance> | undefined {
    const instance = this.find(service, id);
    if (instance === undefined || instance.expired || instance.checkStatus !== 'passing') return undefined;
    this.events.heartbeat?.();
    this.renew(instance, this.clock.now(), '');
    return instance;
  }

  /**
   * A heartbeat another node of the cluster took, `ageMs` ago: it renews liveness here too, so
   * whichever node expires the instance knows of it. Only moves liveness forward; an instance
   * this node does not know, or knows as expired, is left alone (that node wrote any change).
   */
  renewFromPeer(service: string, id: string, ageMs: number, output: string): void {
    const instance = this.find(service, id);
    if (instance === undefined || instance.expired) return;
    const heartbeatAt = this.clock.now() - ageMs;
    if (heartbeatAt <= instance.lastHeartbeatAt) return;
    instance.lastHeartbeatAt = heartbeatAt;
    instance.expiresAt = Math.max(instance.expiresAt, heartbeatAt + instance.ttlMs);
    instance.output = output;
  }

  async setMaintenance(service: string, id: string, change: MaintenanceChange): Promise<Instance> {
    const instance = await this.write(service, id, (before) => {
      if (!before) throw notFound(service, id);
      return revise(before, {
        maintenance: change.enabled,
        maintenanceReason: change.enabled ? (change.reason ?? null) : null,
      });
    });
    return toView(instance!);
  }

  async deregister(service: string, id: string): Promise<void> {
    await this.write(service, id, (before) => {
      if (!before) throw notFound(service, id);
      return null;
    });
  }

  getInstance(service: string, id: string): Instance {
    return toView(this.require(service, id));
  }

  listInstances(service: string, filter: InstanceFilter = {}): Instance[] {
    const instances = [...(this.services.get(service)?.values() ?? [])].filter(
      (instance) =>
        (!filter.statuses || filter.statuses.has(statusOf(instance))) &&
        (!filter.tags || filter.tags.every((tag) => instance.tags.includes(tag))),
    );
    return instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(toView);
  }

  /**
   * A service's stored instances, for transports that keep their own encoding of them (DNS
   * caches wire records per instance object: every durable change makes a new object).
   * Read-only; undefined when the service has no instance.
   */
  serviceInstances(service: string): Iterable<Readonly<InstanceRecord>> | undefined {
    return this.services.get(service)?.values();
  }

  listServices(): ServiceSummary[] {
    return [...this.services.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, instances]) => {
        const summary: ServiceSummary = { name, instances: instances.size, passing: 0, warning: 0, critical: 0, maintenance: 0 };
        for (const instance of instances.values()) summary[statusOf(instance)] += 1;
        return summary;
      });
  }

  countByStatus(): Record<HealthStatus, number> {
    const counts = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
    for (const instances of this.services.values()) {
      for (const instance of instances.values()) counts[statusOf(instance)] += 1;
    }
    return counts;
  }

  serviceIndex(service: string): number {
    return this.changes.of(service);
  }

  catalogIndex(): number {
    return this.changes.of(CATALOG);
  }

  waitForService(service: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.changes.wait(service, after, timeoutMs, signal);
  }

  waitForCatalog(after: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return this.changes.wait(CATALOG, after, timeoutMs, signal);
  }

  get blockedQueries(): number {
    return this.changes.waiterCount;
  }

  /** Answers every blocked query now (shutdown). */
  releaseWaiters(): void {
    this.changes.releaseAll();
  }

  /**
   * Applies the expiries and removals due at the clock's time, at most `limit` per call so a
   * mass expiry is written in short transactions rather than one that stalls the event loop.
   * Expiries go through self-preservation first: held back, they are looked at again a second
   * later, and apply as soon as self-preservation admits them (or their heartbeats came back
   * meanwhile).
   */
  async sweep(limit = 500): Promise<SweepResult> {
    const now = this.clock.now();
    const changes: Change[] = [];
    let expired = 0;
    let removed = 0;
    let withheld = 0;
    // Decided once per sweep, at the first expiry, over every overdue instance (not just this
    // batch), so a mass expiry is seen whole rather than 500 at a time.
    let expiriesAdmitted: boolean | undefined;
    while (changes.length < limit) {
      const due = this.deadlines.popDue(now);
      if (!due) break;
      const instance = due.item;
      if (this.find(instance.service, instance.id) !== instance || instance.scheduledAt !== due.at) continue;
      instance.scheduledAt = Infinity;
      if (!this.owns(instance.service, instance.id)) {
        // Another node's to expire or remove; looked at again in case that node goes away.
        instance.scheduledAt = now + HELD_EXPIRY_RECHECK_MS;
        this.deadlines.push(instance.scheduledAt, instance);
        continue;
      }
      if (isCritical(instance) && (instance.criticalSince ?? 0) + instance.deregisterAfterMs <= now) {
        changes.push({ before: instance });
        removed += 1;
      } else if (!instance.expired && instance.expiresAt + this.expiryGraceMs > now) {
        this.selfPreservation.settle(instance);
        instance.scheduledAt = instance.expiresAt + this.expiryGraceMs;
        this.deadlines.push(instance.scheduledAt, instance);
      } else if (!instance.expired && instance.expiresAt <= now) {
        this.selfPreservation.settle(instance); // looked at now: held again below if still held back
        if (expiriesAdmitted === undefined) {
          expiriesAdmitted = this.selfPreservation.admit(now, ...this.overdueAndHealthy(now));
          // Admitted: what was held is due as well, so this sweep looks at it too.
          if (expiriesAdmitted) this.recheckNow(this.selfPreservation.releaseAll(), now);
        }
        if (!expiriesAdmitted) {
          this.selfPreservation.hold(instance);
          instance.scheduledAt = now + HELD_EXPIRY_RECHECK_MS;
          this.deadlines.push(instance.scheduledAt, instance);
          withheld += 1;
          continue;
        }
        const criticalSince = instance.criticalSince ?? instance.expiresAt;
        changes.push({ before: instance, after: revise(instance, { expired: true, criticalSince }) });
        expired += 1;
      } else {
        this.selfPreservation.settle(instance); // its heartbeats came back
        this.schedule(instance); // a heartbeat moved the deadline since it was queued
      }
    }
    if (changes.length > 0) {
      try {
        await this.commit(changes, true);
      } catch (error) {
        for (const change of changes) this.schedule(change.before!);
        throw error;
      }
      if (expired) this.events.expired?.(expired);
      if (removed) this.events.removed?.(removed);
    }
    const next = this.deadlines.peekTime();
    return { expired, removed, withheld, more: next !== undefined && next <= now };
  }

  get selfPreservationState(): SelfPreservationState {
    return this.selfPreservation.state;
  }

  /** The operator's switch for self-preservation; off, the next sweep expires everything due. */
  setSelfPreservation(enabled: boolean): SelfPreservationState {
    this.recheckNow(this.selfPreservation.setEnabled(enabled), this.clock.now());
    return this.selfPreservation.state;
  }

  /** Queues held instances to be looked at by the next sweep rather than a second later. */
  private recheckNow(instances: readonly LiveInstance[], now: number): void {
    for (const instance of instances) {
      if (this.find(instance.service, instance.id) !== instance) continue;
      instance.scheduledAt = now;
      this.deadlines.push(now, instance);
    }
  }

  /**
   * [overdue, healthy]: instances not yet critical, and those of them whose TTL ran out or runs
   * out within the next re-check. A fleet that went silent together expires over a few sweeps
   * (it registered or heartbeated over some milliseconds); counting the rest of the wave lets
   * self-preservation see it whole instead of admitting its first slices.
   */
  private overdueAndHealthy(now: number): [number, number] {
    let overdue = 0;
    let healthy = 0;
    for (const instances of this.services.values()) {
      for (const instance of instances.values()) {
        if (isCritical(instance)) continue;
        healthy += 1;
        if (instance.expiresAt <= now + HELD_EXPIRY_RECHECK_MS) overdue += 1;
      }
    }
    return [overdue, healthy];
  }

  get pendingLiveness(): number {
    return this.dirtyLiveness.size;
  }

  /** Persists up to `maxRows` heartbeat times; returns how many it wrote. */
  flushLiveness(maxRows: number): number {
    const batch: LiveInstance[] = [];
    while (batch.length < maxRows && this.dirtyLiveness.size > 0) {
      for (const instance of this.dirtyLiveness.take(maxRows - batch.length)) {
        // An instance replaced or removed since was written whole by that durable change.
        if (this.find(instance.service, instance.id) === instance) batch.push(instance);
      }
    }
    if (batch.length === 0) return 0;
    try {
      this.store.saveLiveness(batch);
    } catch (error) {
      for (const instance of batch) this.dirtyLiveness.add(instance);
      throw storageError(error);
    }
    return batch.length;
  }

  /** Same status: liveness only, kept in memory and persisted by flushLiveness. */
  private renew(instance: LiveInstance, now: number, output: string): void {
    instance.lastHeartbeatAt = now;
    instance.expiresAt = now + instance.ttlMs;
    instance.output = output;
    this.dirtyLiveness.add(instance);
  }

  private find(service: string, id: string): LiveInstance | undefined {
    return this.services.get(service)?.get(id);
  }

  private require(service: string, id: string): LiveInstance {
    const instance = this.find(service, id);
    if (!instance) throw notFound(service, id);
    return instance;
  }

  /**
   * One write to one instance: `change` makes the instance's next state from its current one
   * (undefined: nothing to store; null: remove it), and the result is committed. If another
   * node changed the instance meanwhile (StoreConflict), the change is made again from the
   * newer state. Resolves with the instance as applied.
   */
  private async write(
    service: string,
    id: string,
    change: (before: LiveInstance | undefined) => LiveInstance | null | undefined,
  ): Promise<LiveInstance | undefined> {
    for (let attempt = 1; ; attempt++) {
      const before = this.find(service, id);
      const after = change(before);
      if (after === undefined) return before;
      try {
        await this.commit([{ before, after: after ?? undefined }]);
        return after === null ? undefined : (this.find(service, id) ?? after);
      } catch (error) {
        // commitToStore made any other failure a storage error already.
        if (!(error instanceof StoreConflict)) throw error;
        if (attempt >= MAX_CONFLICT_RETRIES) throw storageError(error);
      }
    }
  }

  /**
   * Writes the changes durably; the store hands them back to applyCommitted, which applies
   * them to memory. If the write fails nothing is applied. `asSessionHolder`: the sweep's own
   * decisions, which a cluster commits only while this node's session lives.
   */
  private async commit(changes: readonly Change[], asSessionHolder = false): Promise<void> {
    const touched = new Set<string>();
    for (const { before, after } of changes) addTouched(touched, before, after);
    await this.commitToStore(changes.map(toStoreChange), { touched, asSessionHolder });
  }

  /** A conflict is the caller's to retry; any other failure becomes a storage error (503). */
  private async commitToStore(changes: StoreChange[], options: CommitOptions): Promise<void> {
    try {
      await this.store.commit(changes, options);
    } catch (error) {
      if (error instanceof StoreConflict) throw error;
      throw storageError(error);
    }
  }

  /**
   * Every committed change comes in here, in commit order: this node's own, and in a cluster
   * every other node's. The memory view and the change indexes move only here.
   */
  private applyCommitted({ index, changes }: CommittedBatch): void {
    const now = this.clock.now();
    const touched = new Set<string>();
    let expired = 0;
    for (const change of changes) {
      if (change.kind === 'put-policy' || change.kind === 'delete-policy') {
        this.policies.apply(change, index, touched);
        continue;
      }
      const service = change.kind === 'put' ? change.instance.service : change.service;
      const id = change.kind === 'put' ? change.instance.id : change.id;
      const before = this.find(service, id);
      const after = change.kind === 'put' ? live(change.instance, before, index) : undefined;
      if (before) {
        this.dirtyLiveness.delete(before);
        this.selfPreservation.settle(before);
        this.remove(before);
      }
      if (after) this.place(after);
      if (after?.expired && !before?.expired) expired += 1;
      addTouched(touched, before, after);
    }
    // Self-preservation counts every expiry in the window, whichever node applied it.
    this.selfPreservation.applied(now, expired);
    if (touched.size > 0) this.changes.bump(touched, index);
  }

  /** Refuses a new instance that would pass a cap (loaded instances never are: they exist already). */
  private checkCaps(service: string, id: string): void {
    const inService = this.services.get(service)?.size ?? 0;
    if (inService >= this.caps.instancesPerService) {
      throw new RegistryError(
        'instance_cap',
        `cannot register ${service}/${id}: service ${service} already has ${inService} instance${inService === 1 ? '' : 's'}, the most one service may have (--max-instances-per-service)`,
      );
    }
    if (this.instanceCount >= this.caps.instances) {
      throw new RegistryError('instance_cap', `cannot register ${service}/${id}: the registry already holds ${this.instanceCount} instances, its cap (--max-instances)`);
    }
  }

  private place(instance: LiveInstance): void {
    let instances = this.services.get(instance.service);
    if (!instances) this.services.set(instance.service, (instances = new Map()));
    if (!instances.has(instance.id)) this.instanceCount += 1;
    instances.set(instance.id, instance);
    this.schedule(instance);
  }

  private remove(instance: LiveInstance): void {
    const instances = this.services.get(instance.service);
    if (instances?.get(instance.id) !== instance) return;
    instances.delete(instance.id);
    this.instanceCount -= 1;
    if (instances.size === 0) this.services.delete(instance.service);
  }

  private schedule(instance: LiveInstance): void {
    const at = nextDeadline(instance);
    if (at < instance.scheduledAt) {
      instance.scheduledAt = at;
      this.deadlines.push(at, instance);
    }
  }
}

/**
 * Adds the change-index keys a change visibly alters: its service, and the catalog, which shows
 * each service's counts by status (Beacon) and its tags (Consul's catalog/services). The node
 * that commits a change and every node that applies it decide this the same way.
 */
export function addTouched(touched: Set<string>, before: InstanceRecord | undefined, after: InstanceRecord | undefined): void {
  if (!visiblyDiffers(before, after)) return;
  touched.add((before ?? after)!.service);
  if (!before || !after || statusOf(before) !== statusOf(after) || JSON.stringify(before.tags) !== JSON.stringify(after.tags)) touched.add(CATALOG);
}

function toStoreChange({ before, after }: Change): StoreChange {
  const expectedVersion = before?.version ?? 0;
  if (after) return { kind: 'put', instance: toRecord(after), expectedVersion };
  return { kind: 'delete', service: before!.service, id: before!.id, expectedVersion };
}

/** The durable part of an instance: what a store keeps (memory-only fields left out). */
function toRecord(instance: LiveInstance): InstanceRecord {
  const { expiresAt: _expiresAt, scheduledAt: _scheduledAt, version: _version, ...record } = instance;
  return record;
}

/**
 * An instance as committed, made live. Its expiry follows its last heartbeat, unless it was
 * already later (the restart grace, or heartbeats this node saw after the record was written).
 * Written out field by field: every live instance then has one shape with all its fields in the
 * object itself, which the heartbeat path reads and writes (a spread left some behind a pointer).
 */
function live(record: StoredInstance, before: LiveInstance | undefined, index: number): LiveInstance {
  const sameLife = before !== undefined && before.registeredAt === record.registeredAt && before.ttlMs === record.ttlMs;
  const lastHeartbeatAt = sameLife ? Math.max(before.lastHeartbeatAt, record.lastHeartbeatAt) : record.lastHeartbeatAt;
  return liveInstance(record, lastHeartbeatAt, Math.max(lastHeartbeatAt + record.ttlMs, sameLife ? before.expiresAt : 0), record.version ?? index);
}

function liveInstance(record: InstanceRecord, lastHeartbeatAt: number, expiresAt: number, version: number): LiveInstance {
  return {
    service: record.service,
    id: record.id,
    address: record.address,
    port: record.port,
    weight: record.weight,
    tags: record.tags,
    meta: record.meta,
    ttlMs: record.ttlMs,
    deregisterAfterMs: record.deregisterAfterMs,
    checkStatus: record.checkStatus,
    output: record.output,
    maintenance: record.maintenance,
    maintenanceReason: record.maintenanceReason,
    expired: record.expired,
    criticalSince: record.criticalSince,
    registeredAt: record.registeredAt,
    lastHeartbeatAt,
    version,
    expiresAt,
    scheduledAt: Infinity,
  };
}

function notFound(service: string, id: string): RegistryError {
  return new RegistryError('instance_not_found', `instance ${service}/${id} is not registered`);
}

function storageError(error: unknown): RegistryError {
  const reason = error instanceof Error ? error.message : String(error);
  return new RegistryError('storage_failed', `the registry could not write to its database: ${reason}`, { cause: error });
}
