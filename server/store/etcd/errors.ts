/**
 * What went wrong talking to etcd, as a code the store can act on. The codes say what the caller
 * may conclude, not which layer failed:
 *
 * - `unavailable`: nothing was written (etcd unreachable, no leader, or a read that ran out of
 *   time); answer 503 and let the client re-send.
 * - `unknown-outcome`: a write was sent and no answer came (deadline, connection lost mid-call, or
 *   etcd's own "request timed out"). It may have been committed: etcd's API guarantees say a
 *   timed-out request has an unknown outcome. Re-read before deciding, never assume either way.
 * - `compacted`: the revision asked for is older than etcd's history.
 * - `future-revision`: the revision asked for is newer than etcd's current one.
 * - `lease-not-found`: the lease expired or was revoked.
 * - `rejected`: etcd refused the request itself (too large, invalid); re-sending will not help.
 * - `closed`: the client was closed.
 * - `handler-failed`: a watch handler threw; the watch stopped.
 */
export type EtcdErrorCode =
  | 'unavailable'
  | 'unknown-outcome'
  | 'compacted'
  | 'future-revision'
  | 'lease-not-found'
  | 'rejected'
  | 'closed'
  | 'handler-failed';

export class EtcdError extends Error {
  constructor(
    readonly code: EtcdErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EtcdError';
  }
}

/**
 * A TLS handshake with a member failed: nothing was sent (so `unavailable`), and the cause is
 * a certificate, not the network. Kept apart so a request that then runs out of time can still
 * say why (a member whose handshakes fail can end a request with a bare deadline).
 */
export class EtcdTlsError extends EtcdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
    this.name = 'EtcdTlsError';
  }
}

/** Whether the request was a read (safe to send again) or a write (its outcome matters). */
export type RequestKind = 'read' | 'write';

// Messages that prove the request was never executed: the connection was not there, or etcd
// refused it before proposing it to Raft (rpctypes in etcd 3.4: ErrGRPCNoLeader, NotCapable,
// TooManyRequests; LeaderChanged is only returned to linearizable reads).
const NOT_EXECUTED = [
  'No connection established',
  'ECONNREFUSED',
  'etcdserver: no leader',
  'etcdserver: not capable',
  'etcdserver: too many requests',
  'etcdserver: leader changed',
  'Stream refused by server',
  'Channel closed before call started',
];
const LEASE_NOT_FOUND = 'etcdserver: requested lease not found';
const COMPACTED = 'mvcc: required revision has been compacted';
const FUTURE = 'mvcc: required revision is a future revision';

// How grpc-js reports a TLS handshake that failed ("No connection established. Last error: ..."):
// an OpenSSL error line when the peer sent an alert or spoke something else, Node's verification
// message when etcd's certificate did not check out.
const OPENSSL_REASON = /SSL routines:[^:]*:([^:]+)(?::[^\n]*SSL alert number (\d+))?/;
const UNTRUSTED_SERVER = [
  'unable to verify the first certificate',
  'unable to get local issuer certificate',
  'unable to get issuer certificate',
  'self-signed certificate',
  'self signed certificate',
  'certificate has expired',
  'certificate is not yet valid',
  'certificate signature failure',
  "does not match certificate's altnames",
];
// What Node says when the peer hangs up on its ClientHello: a plain etcd port does.
const DISCONNECTED_IN_HANDSHAKE = 'disconnected before secure TLS connection was established';
// TLS alerts by which etcd (Go's crypto/tls) refuses the client's certificate: bad_certificate
// (42), unsupported (43), revoked (44), expired (45), unknown (46), unknown_ca (48),
// certificate_required (116, TLS 1.3 with no certificate shown).
const CLIENT_CERT_ALERTS = new Set(['42', '43', '44', '45', '46', '48', '116']);

/**
 * What a failed TLS handshake means for the operator, or undefined if `message` is not one.
 * Both sides' failures read differently, so the message says which certificate to look at.
 */
export function tlsFailure(message: string): string | undefined {
  const untrusted = UNTRUSTED_SERVER.find((text) => message.includes(text));
  if (untrusted) return `TLS handshake failed: etcd's certificate is not trusted (${untrusted}): check the CA given (--etcd-ca) and that etcd's certificate names this host`;
  if (message.includes(DISCONNECTED_IN_HANDSHAKE)) return `TLS handshake failed (the connection closed during it): is this a TLS (https://) client URL of etcd?`;
  const openssl = OPENSSL_REASON.exec(message);
  if (!openssl) return undefined;
  const reason = openssl[1]!.trim();
  if (openssl[2] && CLIENT_CERT_ALERTS.has(openssl[2])) {
    return `TLS handshake failed: etcd refused this client's certificate (${reason}): etcd requires one (--client-cert-auth) issued by a CA it trusts; check --etcd-cert and --etcd-key`;
  }
  return `TLS handshake failed (${reason}): is this a TLS (https://) client URL of etcd?`;
}

/** The gRPC status code at the start of a grpc-js message ("14 UNAVAILABLE: ..."), if any. */
function grpcCode(message: string): number | undefined {
  const match = /^(?:\w+: )?(\d+) [A-Z_]+:/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/**
 * Turns whatever etcd3/grpc-js threw into an EtcdError. A read that failed in any way wrote
 * nothing; a write is `unavailable` only when the failure proves etcd never executed it.
 */
export function classify(error: unknown, kind: RequestKind, endpoint: string): EtcdError {
  if (error instanceof EtcdError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const where = `etcd ${endpoint}`;
  if (message.includes(LEASE_NOT_FOUND)) return new EtcdError('lease-not-found', `${where}: the lease expired or was revoked`, { cause: error });
  if (message.includes(COMPACTED)) return new EtcdError('compacted', `${where}: the revision was compacted`, { cause: error });
  if (message.includes(FUTURE)) return new EtcdError('future-revision', `${where}: the revision is in the future`, { cause: error });
  const tls = tlsFailure(message);
  if (tls) return new EtcdTlsError(`${where}: ${tls}`, { cause: error });
  if (NOT_EXECUTED.some((text) => message.includes(text))) {
    return new EtcdError('unavailable', `${where} is unavailable: ${stripName(message)}`, { cause: error });
  }
  const code = grpcCode(message);
  // INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION,
  // OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED: etcd looked at the request and said no.
  if (code !== undefined && [3, 5, 6, 7, 9, 11, 12, 16].includes(code)) {
    return new EtcdError('rejected', `${where} rejected the request: ${stripName(message)}`, { cause: error });
  }
  if (kind === 'read') return new EtcdError('unavailable', `${where} did not answer the read: ${stripName(message)}`, { cause: error });
  return new EtcdError('unknown-outcome', `${where} did not confirm the write (it may or may not be committed): ${stripName(message)}`, { cause: error });
}

/** Whether the same request may be sent again (to another member) within its deadline. */
export function retryable(error: EtcdError, kind: RequestKind): boolean {
  if (error.code === 'unavailable') return true;
  return kind === 'read' && error.code === 'unknown-outcome';
}

function stripName(message: string): string {
  return message.replace(/^\w+Error: /, '');
}
