import type { InstanceRecord } from '../../registry/instance-record.js';
import type { PolicyRecord, TokenRecord } from '../store.js';

/**
 * The keys and values of a registry kept in etcd, in one place: EtcdStore reads and writes them,
 * and `beacon store copy` writes them, so a copied registry is exactly what a node would have
 * written. The key list itself is documented on EtcdStore.
 */
export const keyOf = {
  instance: (prefix: string, service: string, id: string) => `${prefix}instances/${service}/${id}`,
  /** The change-index marker of a service, or of the catalog (`*`). */
  index: (prefix: string, watched: string) => `${prefix}index/${watched}`,
  token: (prefix: string, id: string) => `${prefix}tokens/${id}`,
  policy: (prefix: string, service: string) => `${prefix}policies/${service}`,
};

export function encodeInstance(instance: InstanceRecord): string {
  return JSON.stringify(instance);
}

export function decodeInstance(value: Buffer): InstanceRecord {
  return JSON.parse(value.toString()) as InstanceRecord;
}

export function encodePolicy(policy: PolicyRecord): string {
  return JSON.stringify(policy);
}

export function decodePolicy(value: Buffer): PolicyRecord {
  return JSON.parse(value.toString()) as PolicyRecord;
}

/** A token as etcd holds it: the secret's SHA-256 in hex, never the secret. */
interface StoredToken extends Omit<TokenRecord, 'secretHash'> {
  secretHash: string;
}

export function encodeToken(token: TokenRecord): string {
  const stored: StoredToken = {
    id: token.id,
    secretHash: token.secretHash.toString('hex'),
    kind: token.kind,
    services: token.services,
    description: token.description,
    createdAt: token.createdAt,
  };
  return JSON.stringify(stored);
}

export function decodeToken(value: Buffer): TokenRecord {
  const stored = JSON.parse(value.toString()) as StoredToken;
  return { ...stored, secretHash: Buffer.from(stored.secretHash, 'hex') };
}
