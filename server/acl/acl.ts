import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../contract/clock.js';
import { RegistryError } from '../registry/errors.js';
import type { TokenChange, TokenRecord, TokenStore } from '../store/store.js';
import type { CreatedToken, Token, TokenCreation } from './token.js';

/** The id the bootstrap management token (from --acl-bootstrap-token) is stored under. */
export const BOOTSTRAP_TOKEN_ID = 'bootstrap';

/** What a request may need: to read, to write one service, or to manage tokens. */
export type Right = { kind: 'read' } | { kind: 'write'; service: string } | { kind: 'manage' };

/** Why a request was refused, as the HTTP layer answers it. */
export type Denial = { status: 401 | 403; message: string };

function hashOf(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/**
 * ACL tokens: created, listed (without secrets) and revoked through the store, checked against
 * an in-memory index so a request costs one hash and one map lookup. The index is fed by the
 * store, which hands back every token change wherever it was made (another node's, over etcd,
 * as soon as this node's watch applies it). A revoked token is gone from this node's index
 * before `revoke` returns, so the next request with it here is refused.
 */
export class Acl {
  /** By the hex of the secret's SHA-256. */
  private readonly bySecretHash = new Map<string, TokenRecord>();
  /** The hex hash each token id is indexed under, to drop a token by its id. */
  private readonly hashById = new Map<string, string>();

  private constructor(
    private readonly store: TokenStore,
    private readonly clock: Clock,
  ) {
    for (const token of store.loadTokens()) this.apply({ kind: 'put', token });
    store.subscribeTokens((change) => this.apply(change));
  }

  /**
   * The tokens of `store`, with the bootstrap token installed when a secret is given: resolves
   * once that is committed, so a server does not listen before its bootstrap token works.
   */
  static async open(store: TokenStore, clock: Clock, bootstrapSecret?: string): Promise<Acl> {
    const acl = new Acl(store, clock);
    if (bootstrapSecret !== undefined) await acl.installBootstrap(bootstrapSecret);
    return acl;
  }

  /** Whether any management token exists (else nobody could ever administer tokens). */
  get hasManagementToken(): boolean {
    for (const token of this.bySecretHash.values()) if (token.kind === 'management') return true;
    return false;
  }

  async create(request: TokenCreation): Promise<CreatedToken> {
    // 32 random bytes: unguessable, and as URL-safe text fit for a header. Never starting with
    // "-", so `--token <secret>` on a command line is never read as another flag.
    let secret: string;
    do secret = randomBytes(32).toString('base64url');
    while (secret.startsWith('-'));
    const record: TokenRecord = {
      id: randomUUID(),
      secretHash: hashOf(secret),
      kind: request.kind,
      services: request.services ?? [],
      description: request.description,
      createdAt: this.clock.now(),
    };
    await stored(() => this.store.putToken(record));
    return { ...toView(record), secret };
  }

  list(): Token[] {
    return [...this.bySecretHash.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)).map(toView);
  }

  /** False when no token has that id. */
  async revoke(id: string): Promise<boolean> {
    const deleted = await stored(() => this.store.deleteToken(id));
    // The store has handed the delete back already; dropping it here too keeps the promise
    // above ("refused before revoke returns") whatever store is underneath.
    this.apply({ kind: 'delete', id });
    return deleted;
  }

  /**
   * Checks a request's secret (undefined: none sent) for a right. The lookup is by the secret's
   * hash, and the stored hash is then compared in constant time, so neither step tells an
   * attacker how much of a guess was right.
   */
  check(secret: string | undefined, right: Right): Denial | undefined {
    if (secret === undefined || secret === '') {
      return { status: 401, message: 'a token is required: send Authorization: Bearer <secret> (or X-Beacon-Token: <secret>)' };
    }
    const hash = hashOf(secret);
    const token = this.bySecretHash.get(hash.toString('hex'));
    if (!token || !timingSafeEqual(token.secretHash, hash)) return { status: 401, message: 'unknown token: it does not exist or was revoked' };
    return refusal(token, right);
  }

  private apply(change: TokenChange): void {
    const id = change.kind === 'put' ? change.token.id : change.id;
    const before = this.hashById.get(id);
    if (before !== undefined) this.bySecretHash.delete(before);
    this.hashById.delete(id);
    if (change.kind === 'delete') return;
    const hash = change.token.secretHash.toString('hex');
    this.bySecretHash.set(hash, change.token);
    this.hashById.set(id, hash);
  }

  /**
   * Writes the bootstrap token unless it is there with this secret already: nodes of a cluster
   * started with the same secret find it written by the first and leave it as it is.
   */
  private async installBootstrap(secret: string): Promise<void> {
    const existingHash = this.hashById.get(BOOTSTRAP_TOKEN_ID);
    const existing = existingHash === undefined ? undefined : this.bySecretHash.get(existingHash);
    const hash = hashOf(secret);
    if (existing && timingSafeEqual(existing.secretHash, hash)) return;
    const record: TokenRecord = {
      id: BOOTSTRAP_TOKEN_ID,
      secretHash: hash,
      kind: 'management',
      services: [],
      description: 'bootstrap management token (--acl-bootstrap-token)',
      createdAt: existing?.createdAt ?? this.clock.now(),
    };
    await stored(() => this.store.putToken(record));
  }
}

/**
 * A token write the store could not make is answered like any write the registry could not
 * store (503 with Retry-After: sending it again is safe), never as a server fault.
 */
async function stored<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RegistryError('storage_failed', `the token could not be stored: ${reason}`, { cause: error });
  }
}

function refusal(token: TokenRecord, right: Right): Denial | undefined {
  if (token.kind === 'management') return undefined;
  if (right.kind === 'read') return undefined;
  if (right.kind === 'manage') {
    return { status: 403, message: `token ${token.id} is a ${token.kind} token: administering tokens needs a management token` };
  }
  if (token.kind === 'service' && token.services.includes(right.service)) return undefined;
  const scope = token.kind === 'service' ? `may write only ${token.services.map((s) => `"${s}"`).join(', ')}` : 'may only read';
  return { status: 403, message: `token ${token.id} (${token.kind}) ${scope}: writing service "${right.service}" needs a management token or a service token listing it` };
}

function toView(record: TokenRecord): Token {
  return {
    id: record.id,
    kind: record.kind,
    services: record.services,
    description: record.description,
    createdAt: new Date(record.createdAt).toISOString(),
  };
}
