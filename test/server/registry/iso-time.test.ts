import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTime } from '../../../server/registry/iso-time.js';

test('isoTime formats exactly as Date.prototype.toISOString, across seconds, zero padding and odd years', () => {
  const samples = [0, 1, 9, 10, 99, 100, 999, 1_000, 1_795_925_511_469, 1_795_925_511_001, 1_795_925_512_050, -1, -62_198_755_200_000, 253_402_300_799_999];
  for (let i = 0; i < 2_000; i++) samples.push(Math.floor(Math.random() * 4_000_000_000_000));
  for (const ms of samples) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
});
