import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EtcdEndpoints } from '../../../../server/store/etcd/endpoints.js';
import type { EtcdError } from '../../../../server/store/etcd/errors.js';

// What grpc-js 1.14 threw when etcd 3.4.23 (--client-cert-auth) refused the handshake, and then,
// with the channel reconnecting, when the call's deadline ran out before it got a connection.
const REFUSED_HANDSHAKE =
  '14 UNAVAILABLE: No connection established. Last error: 808CD065A37F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n (2026-12-02T15:19:53.125Z). Resolution note: ';
const BARE_DEADLINE = '4 DEADLINE_EXCEEDED: Deadline exceeded after 0.001s,waiting for name resolution';

/** A request whose attempts fail with these messages in turn (the last one repeated). */
async function failing(kind: 'read' | 'write', messages: string[], timeoutMs: number): Promise<EtcdError> {
  // Never connected: the send function stands in for the member.
  const endpoints = new EtcdEndpoints(['https://127.0.0.1:2379']);
  let attempt = 0;
  try {
    await endpoints.request(kind, timeoutMs, async () => {
      throw new Error(messages[Math.min(attempt++, messages.length - 1)]);
    });
    assert.fail('the request succeeded');
  } catch (error) {
    return error as EtcdError;
  } finally {
    endpoints.close();
  }
}

describe('EtcdEndpoints.request: a failed TLS handshake stays the reason given', () => {
  test('a read that runs out of time after handshakes etcd refused says the handshake failed, not only that etcd did not answer', async () => {
    const error = await failing('read', [REFUSED_HANDSHAKE, BARE_DEADLINE], 200);

    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /^etcd did not answer within 200 ms: etcd https:\/\/127\.0\.0\.1:2379: TLS handshake failed: etcd refused this client's certificate/);
  });

  test('a write whose last attempt hit its deadline keeps its unknown outcome and names the failed handshake before it', async () => {
    const error = await failing('write', [REFUSED_HANDSHAKE, BARE_DEADLINE], 2_000);

    assert.equal(error.code, 'unknown-outcome');
    assert.match(error.message, /DEADLINE_EXCEEDED.*\(before it: etcd https:\/\/127\.0\.0\.1:2379: TLS handshake failed: etcd refused this client's certificate/);
  });
});
