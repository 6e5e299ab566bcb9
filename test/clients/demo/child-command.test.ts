import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogLine } from '../../../clients/demo/child-command.js';

describe("the demo's log lines", () => {
  it('prints a pino line as its message and fields, with the level when it is not info', () => {
    const line = JSON.stringify({ level: 40, time: 1, pid: 2, hostname: 'h', err: 'refused', retryInMs: 500, msg: 'registry unreachable' });

    assert.deepEqual(formatLogLine(line), { text: 'WARN registry unreachable err=refused retryInMs=500', message: 'registry unreachable', level: 40 });
    assert.equal(formatLogLine(JSON.stringify({ level: 30, msg: 'up' })).text, 'up');
  });

  it('prints any other line as it is, whatever the level asked for', () => {
    const line = 'beacon server: cannot listen for HTTP API on 127.0.0.1:8500: address already in use';

    assert.deepEqual(formatLogLine(line), { text: line, message: line, level: Infinity });
  });
});
