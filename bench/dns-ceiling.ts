import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { HEADER_LENGTH } from '../server/dns/message.js';

/**
 * The Node ceiling of the DNS bench: a raw `node:dgram` responder that reads only where the
 * question ends, looks its bytes up in a map of finished answers and sends a copy with the
 * query's id. No validation, no registry, no ordering, no metrics: what any DNS server on
 * Node's UDP sockets can do at most. The answers are Beacon's own, captured once by the bench
 * (bench/dns-answers.ts), so both servers send the same bytes.
 *
 * Usage: node dns-ceiling.js <answers.json>   ({ "<question hex>": "<answer hex>" })
 */
const [answersFile] = process.argv.slice(2);
if (!answersFile) throw new Error('usage: dns-ceiling.js <answers.json>');
const captured = JSON.parse(readFileSync(answersFile, 'utf8')) as Record<string, string>;
const answers = new Map<string, Buffer>();
for (const [question, answer] of Object.entries(captured)) answers.set(Buffer.from(question, 'hex').toString('latin1'), Buffer.from(answer, 'hex'));

const socket = createSocket('udp4');
socket.on('message', (packet, peer) => {
  const end = questionEnd(packet);
  if (end === undefined) return;
  const answer = answers.get(packet.toString('latin1', HEADER_LENGTH, end));
  if (!answer) return;
  // A copy per answer: the send may still hold the buffer when the next query arrives.
  const response = Buffer.allocUnsafe(answer.length);
  answer.copy(response);
  response[0] = packet[0]!;
  response[1] = packet[1]!;
  socket.send(response, peer.port, peer.address);
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(`DNS ceiling listening on udp://127.0.0.1:${socket.address().port}\n`));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));

/** Where the question's name, type and class end, or undefined for a packet too short. */
function questionEnd(packet: Buffer): number | undefined {
  let offset = HEADER_LENGTH;
  while (offset < packet.length && packet[offset] !== 0) offset += packet[offset]! + 1;
  offset += 1 + 4;
  return offset <= packet.length ? offset : undefined;
}
