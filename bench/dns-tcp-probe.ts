import { connect, type Socket } from 'node:net';
import { HEADER_LENGTH, TYPE } from '../server/dns/message.js';
import { parse, queryPacket } from '../test/support/dns.js';

/**
 * Times SRV queries for one name over one TCP connection, one at a time (RFC 7766 framing):
 * each round trip is how long a client waits for the whole answer. Run by the bench as its
 * own process on the load generator's CPU; prints one JSON line (TcpProbeResult).
 *
 * Usage: node dns-tcp-probe.js <port> <name> <warm-up queries> <timed queries>
 */
export interface TcpProbeResult {
  roundTripsMs: number[];
  /**
   * The header counts of the last answer. Every answer must have the same flags and answer
   * count; additional counts vary, as the random order moves which targets a pointer can reach.
   */
  answerCount: number;
  additionalCount: number;
  truncated: boolean;
  bytes: number;
  /** SRV records dns2 decoded from the last answer, and how many distinct targets they name. */
  srvRecords: number;
  distinctTargets: number;
}

/** A query that takes longer than this fails the probe: the bench never waits unbounded. */
const ANSWER_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  const [port, name, warmUp, timed] = process.argv.slice(2);
  if (!port || !name || !warmUp || !timed) throw new Error('usage: dns-tcp-probe.js <port> <name> <warm-up queries> <timed queries>');
  const socket = connect(Number(port), '127.0.0.1');
  socket.setNoDelay(true);
  const answers = framedAnswers(socket);
  const roundTripsMs: number[] = [];
  let last: Buffer | undefined;
  let first: Buffer | undefined;
  for (let i = 0; i < Number(warmUp) + Number(timed); i++) {
    const query = queryPacket(name, 'SRV', { id: i & 0xffff });
    const started = process.hrtime.bigint();
    socket.write(Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]));
    const answer = await answers.next(ANSWER_TIMEOUT_MS);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (answer.readUInt16BE(0) !== (i & 0xffff)) throw new Error(`answer ${i} carries id ${answer.readUInt16BE(0)}`);
    if (first && !sameAnswerCounts(first, answer)) throw new Error(`answer ${i} differs in its flags or answer count from the first`);
    first ??= answer;
    last = answer;
    if (i >= Number(warmUp)) roundTripsMs.push(elapsedMs);
  }
  socket.destroy();
  const packet = parse(last!);
  const srv = packet.answers.filter((record) => record.type === TYPE.SRV);
  const result: TcpProbeResult = {
    roundTripsMs,
    answerCount: last!.readUInt16BE(6),
    additionalCount: last!.readUInt16BE(10),
    truncated: (last!.readUInt16BE(2) & 0x0200) !== 0,
    bytes: last!.length,
    srvRecords: srv.length,
    distinctTargets: new Set(srv.map((record) => record.target)).size,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Answers as they complete on the connection; `next` fails after timeoutMs or on a socket error. */
function framedAnswers(socket: Socket): { next(timeoutMs: number): Promise<Buffer> } {
  let pending = Buffer.alloc(0);
  let waiting: { resolve: (answer: Buffer) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  socket.on('error', (error) => {
    failure = error;
    waiting?.reject(error);
  });
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return;
    const answer = pending.subarray(2, 2 + pending.readUInt16BE(0));
    pending = pending.subarray(2 + answer.length);
    waiting?.resolve(answer);
    waiting = undefined;
  });
  return {
    next: (timeoutMs) =>
      new Promise<Buffer>((resolve, reject) => {
        if (failure) return reject(failure);
        const timer = setTimeout(() => reject(new Error(`no answer over TCP within ${timeoutMs} ms`)), timeoutMs);
        waiting = {
          resolve: (answer) => (clearTimeout(timer), resolve(answer)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        };
      }),
  };
}

/** Flags, question and answer counts: header bytes 2 to 8. */
function sameAnswerCounts(a: Buffer, b: Buffer): boolean {
  return a.length >= HEADER_LENGTH && b.length >= HEADER_LENGTH && a.subarray(2, 8).equals(b.subarray(2, 8));
}

await main().catch((error: unknown) => {
  process.stderr.write(`dns-tcp-probe: ${(error as Error).message}\n`);
  process.exit(1);
});
