import { after } from 'node:test';
import { killEverything } from './local-etcd.js';

export * from './local-etcd.js';

// A test that fails before its own cleanup ran must not leave etcd members behind: whatever this
// test file started is killed, and its folders removed, when the file's tests are done. (The
// cluster itself lives in local-etcd.ts, which a benchmark can use without the test runner.)
after(() => killEverything());
