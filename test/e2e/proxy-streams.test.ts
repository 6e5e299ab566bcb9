import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { type Backend, startBackend } from '../support/backends.js';
import { client } from '../support/http.js';
import { startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const MIB = 1024 * 1024;
const TRANSFER = 50 * MIB;
const CHUNK = 64 * 1024;

/** `bytes` of a repeating, position-dependent pattern, produced chunk by chunk (never held whole). */
function* pattern(bytes: number): Generator<Buffer> {
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    const chunk = Buffer.alloc(Math.min(CHUNK, bytes - sent));
    for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32BE((sent + i) >>> 0, i);
    yield chunk;
  }
}

function digestOf(bytes: number): string {
  const hash = createHash('sha256');
  for (const chunk of pattern(bytes)) hash.update(chunk);
  return hash.digest('hex');
}

/** The process's resident set, from /proc (Linux). */
function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** Samples a process's RSS every 20 ms while `work` runs; answers the work's result and the peak. */
async function peakRssDuring<T>(pid: number, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssBytes(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  try {
    return { result: await work, peak };
  } finally {
    clearInterval(sampler);
  }
}

describe('beacon proxy streams bodies without buffering them', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let registry: ServerProcess;
  let backend: Backend;
  let proxyUrl: string;
  let proxyPid: number;
  let stopProxy: () => Promise<unknown>;

  before(async () => {
    registry = await startServerProcess(['--db', ':memory:']);
    backend = await startBackend('bulk', (req, res) => {
      if (req.method === 'POST') {
        // Upload: hash what arrives and answer its size and digest.
        const hash = createHash('sha256');
        let size = 0;
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          hash.update(chunk);
        });
        req.on('end', () => res.end(JSON.stringify({ size, digest: hash.digest('hex') })));
        return;
      }
      // Download: stream the pattern, honouring back-pressure.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TRANSFER });
      Readable.from(pattern(TRANSFER)).pipe(res);
    });
    await client(registry.url).register('bulk', 'b0', { address: '127.0.0.1', port: backend.port, ttl: 300 });
    const proxy = await startProxyProcess(['--service', 'bulk', '--registry', registry.url, '--try-timeout', '30s', '--timeout', '60s']);
    proxyUrl = proxy.ready.url;
    proxyPid = proxy.child.pid!;
    stopProxy = () => proxy.stop();
    // Warm up: connection pools, JIT, the first allocations, so the baseline is the steady state.
    for (let i = 0; i < 20; i++) await (await request(`${proxyUrl}/warm`, { method: 'POST', body: 'x'.repeat(CHUNK) })).body.text();
  });
  after(async () => {
    await stopProxy?.();
    await backend?.kill();
    await registry?.stop();
  });

  it('a 50 MB upload arrives whole, with the proxy growing by less than 30 MB', async (t) => {
    const baseline = rssBytes(proxyPid);

    const { result, peak } = await peakRssDuring(
      proxyPid,
      (async () => {
        const response = await request(`${proxyUrl}/upload`, { method: 'POST', body: Readable.from(pattern(TRANSFER)), headers: { 'content-type': 'application/octet-stream' } });
        return { status: response.statusCode, body: (await response.body.json()) as { size: number; digest: string } };
      })(),
    );

    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { size: TRANSFER, digest: digestOf(TRANSFER) });
    t.diagnostic(`proxy RSS grew ${((peak - baseline) / MIB).toFixed(1)} MB`);
    assert.ok(peak - baseline < 30 * MIB, `proxy RSS grew ${((peak - baseline) / MIB).toFixed(1)} MB`);
  });

  it('a 50 MB download arrives whole, with the proxy growing by less than 30 MB', async (t) => {
    const baseline = rssBytes(proxyPid);

    const { result, peak } = await peakRssDuring(
      proxyPid,
      (async () => {
        const response = await request(`${proxyUrl}/download`);
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of response.body) {
          size += (chunk as Buffer).length;
          hash.update(chunk as Buffer);
        }
        return { status: response.statusCode, size, digest: hash.digest('hex') };
      })(),
    );

    assert.equal(result.status, 200);
    assert.equal(result.size, TRANSFER);
    assert.equal(result.digest, digestOf(TRANSFER));
    t.diagnostic(`proxy RSS grew ${((peak - baseline) / MIB).toFixed(1)} MB`);
    assert.ok(peak - baseline < 30 * MIB, `proxy RSS grew ${((peak - baseline) / MIB).toFixed(1)} MB`);
  });
});
