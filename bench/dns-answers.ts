import { writeFileSync } from 'node:fs';
import { parse, queryPacket, udpExchange } from '../test/support/dns.js';
import { HEADER_LENGTH, RCODE, TYPE } from '../server/dns/message.js';
import { QUERIED, queriedQuestions } from './dns-fleet.js';

/**
 * Asks Beacon each question of the mix once, checks the answer is the one the bench expects
 * (NOERROR, one record per instance, and for SRV each target's address as additional), and
 * writes the answers for the Node ceiling (bench/dns-ceiling.ts), keyed by the question's bytes.
 * The queries are dnsperf's shape: RD set, no EDNS, so the question bytes match what it sends.
 */
export async function captureAnswers(dnsPort: number, path: string): Promise<void> {
  const answers: Record<string, string> = {};
  for (const { name, type } of queriedQuestions()) {
    const query = queryPacket(name, type);
    const answer = await udpExchange(dnsPort, query);
    if (!answer) throw new Error(`Beacon did not answer ${name} ${type} over UDP`);
    const packet = parse(answer);
    const records = packet.answers.filter((record) => record.type === TYPE[type]);
    const expectedAdditional = type === 'SRV' ? QUERIED.instancesPerService : 0;
    if (packet.header.rcode !== RCODE.NOERROR || records.length !== QUERIED.instancesPerService || packet.additionals.length !== expectedAdditional) {
      throw new Error(
        `Beacon answered ${name} ${type} with rcode ${packet.header.rcode}, ${records.length} ${type} records and ` +
          `${packet.additionals.length} additional; expected NOERROR, ${QUERIED.instancesPerService} and ${expectedAdditional}`,
      );
    }
    answers[query.subarray(HEADER_LENGTH).toString('hex')] = answer.toString('hex');
  }
  writeFileSync(path, JSON.stringify(answers));
}
