import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, table } from '../../../clients/cli/output.js';

describe('CLI output', () => {
  it('a table pads each column to its widest cell, two spaces apart, without trailing spaces', () => {
    const text = table(['ID', 'PORT', 'OUTPUT'], [['web-1', '8080', 'ok'], ['w2', '80', '']]);

    assert.equal(text, ['ID     PORT  OUTPUT', 'web-1  8080  ok', 'w2     80'].join('\n') + '\n');
  });

  it('a cell with line breaks stays on its row', () => {
    assert.equal(table(['A', 'B'], [['x', 'disk\n91%\tfull']]), 'A  B\nx  disk 91% full\n');
  });

  it('ages read in the largest whole unit: seconds, minutes, hours (under two days), days', () => {
    const now = Date.parse('2026-01-03T00:00:00.000Z');
    const cases = [
      ['2026-01-03T00:00:00.000Z', '0s ago'],
      ['2026-01-02T23:59:57.400Z', '2s ago'],
      ['2026-01-02T23:55:00.000Z', '5m ago'],
      ['2026-01-01T01:00:00.000Z', '47h ago'],
      ['2025-12-31T00:00:00.000Z', '3d ago'],
      ['2026-01-03T00:00:09.000Z', '0s ago'], // a registry clock ahead of ours
    ];
    assert.deepEqual(cases.map(([iso]) => age(iso!, now)), cases.map(([, expected]) => expected));
  });
});
