import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify } from '../../../../server/store/etcd/errors.js';

// What grpc-js 1.14 threw for each failed handshake with a real etcd 3.4.23 (--client-cert-auth).
const NO_CLIENT_CERT =
  '14 UNAVAILABLE: No connection established. Last error: 808CD065A37F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n (2026-12-02T15:19:53.125Z). Resolution note: ';
const SERVER_NOT_TRUSTED = '14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate. Resolution note: ';
const PLAIN_ETCD = '14 UNAVAILABLE: No connection established. Last error: Error: Client network socket disconnected before secure TLS connection was established. Resolution note: ';

describe('classify: a failed TLS handshake says whose certificate to look at', () => {
  test('etcd refusing the client certificate (an alert from etcd) names the client certificate flags', () => {
    const error = classify(new Error(NO_CLIENT_CERT), 'write', 'https://127.0.0.1:2379');

    assert.equal(error.code, 'unavailable');
    assert.equal(
      error.message,
      "etcd https://127.0.0.1:2379: TLS handshake failed: etcd refused this client's certificate (sslv3 alert bad certificate): etcd requires one (--client-cert-auth) issued by a CA it trusts; check --etcd-cert and --etcd-key",
    );
  });

  test("etcd's certificate failing verification names the CA flag", () => {
    const error = classify(new Error(SERVER_NOT_TRUSTED), 'read', 'https://127.0.0.1:2379');

    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /^etcd https:\/\/127\.0\.0\.1:2379: TLS handshake failed: etcd's certificate is not trusted \(unable to verify the first certificate\): check the CA given \(--etcd-ca\)/);
  });

  test('any other TLS failure (a plain etcd behind an https:// URL) asks whether the URL is a TLS one', () => {
    const error = classify(new Error(PLAIN_ETCD), 'read', 'https://127.0.0.1:2379');

    assert.equal(error.code, 'unavailable');
    assert.equal(error.message, 'etcd https://127.0.0.1:2379: TLS handshake failed (the connection closed during it): is this a TLS (https://) client URL of etcd?');
  });

  test('a refused connection is no TLS failure', () => {
    const error = classify(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379'), 'read', 'https://127.0.0.1:2379');

    assert.equal(error.code, 'unavailable');
    assert.doesNotMatch(error.message, /TLS/);
  });
});
