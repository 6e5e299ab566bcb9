import type { InstanceRecord } from '../../registry/instance-record.js';
import type { CommitOptions, CommittedBatch, LivenessRecord, PolicyRecord, Store, StoreChange, StoredState } from '../store.js';

/**
 * A store that keeps its state in this process and nowhere else: nothing survives a restart.
 * For a registry nobody depends on, such as the one `npm run openapi` builds the app around to
 * read its document, so that opening no database is the design, not an accident of `:memory:`.
 */
export class MemoryStore implements Store {
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly policies = new Map<string, PolicyRecord>();
  private lastIndex = 0;
  private listener: ((batch: CommittedBatch) => void) | undefined;

  load(): StoredState {
    return { instances: [...this.instances.values()].map((instance) => ({ ...instance })), lastIndex: this.lastIndex, policies: [...this.policies.values()] };
  }

  subscribe(listener: (batch: CommittedBatch) => void): void {
    this.listener = listener;
  }

  async commit(changes: readonly StoreChange[], _options: CommitOptions): Promise<void> {
    for (const change of changes) {
      if (change.kind === 'put') this.instances.set(key(change.instance.service, change.instance.id), { ...change.instance });
      else if (change.kind === 'delete') this.instances.delete(key(change.service, change.id));
      else if (change.kind === 'put-policy') this.policies.set(change.policy.service, change.policy);
      else this.policies.delete(change.service);
    }
    this.lastIndex += 1;
    this.listener?.({ index: this.lastIndex, changes });
  }

  saveLiveness(rows: readonly LivenessRecord[]): void {
    for (const row of rows) {
      const instance = this.instances.get(key(row.service, row.id));
      if (instance) this.instances.set(key(row.service, row.id), { ...instance, lastHeartbeatAt: row.lastHeartbeatAt, output: row.output });
    }
  }

  close(): void {}
}

/** Neither a service name nor an instance id may contain a space. */
function key(service: string, id: string): string {
  return `${service} ${id}`;
}
