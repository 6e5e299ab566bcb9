import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../contract/clock.js';
import type { TokenRecord, TokenStore } from '../store/store.js';
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
 * an in-memory index so a request costs one hash and one map lookup. A revoked token is gone
 * from the index before `revoke` returns, so the next request with it is refused.
 */
export class Acl {
  /** By the hex of the secret's SHA-256. */
  private readonly bySecretHash = new Map<string, TokenRecord>();

  constructor(
    private readonly store: TokenStore,
    private readonly clock: Clock,
    bootstrapSecret?: string,
  ) {
    for (const token of store.loadTokens()) this.bySecretHash.set(token.secretHash.toString('hex'), token);
    if (bootstrapSecret !== undefined) this.installBootstrap(bootstrapSecret);
  }

  /** Whether any management token exists (else nobody could ever administer tokens). */
  get hasManagementToken(): boolean {
    for (const token of this.bySecretHash.values()) if (token.kind === 'management') return true;
    return false;
  }

  create(request: TokenCreation): CreatedToken {
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
    this.store.putToken(record);
    this.bySecretHash.set(record.secretHash.toString('hex'), record);
    return { ...toView(record), secret };
  }

  list(): Token[] {
    return [...this.bySecretHash.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)).map(toView);
  }

  /** False when no token has that id. */
  revoke(id: string): boolean {
    const deleted = this.store.deleteToken(id);
    for (const [hash, token] of this.bySecretHash) if (token.id === id) this.bySecretHash.delete(hash);
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

  private installBootstrap(secret: string): void {
    const existing = [...this.bySecretHash.entries()].find(([, token]) => token.id === BOOTSTRAP_TOKEN_ID);
    const hash = hashOf(secret);
    if (existing && timingSafeEqual(existing[1].secretHash, hash)) return;
    if (existing) this.bySecretHash.delete(existing[0]);
    const record: TokenRecord = {
      id: BOOTSTRAP_TOKEN_ID,
      secretHash: hash,
      kind: 'management',
      services: [],
      description: 'bootstrap management token (--acl-bootstrap-token)',
      createdAt: existing?.[1].createdAt ?? this.clock.now(),
    };
    this.store.putToken(record);
    this.bySecretHash.set(hash.toString('hex'), record);
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
