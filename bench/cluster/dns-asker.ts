import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { queryPacket } from '../../test/support/dns.js';
import { RCODE } from '../../server/dns/message.js';

/** What one query came back with: NOERROR with this many answer records, or not. */
export interface Asked {
  noError: boolean;
  answers: number;
}

/**
 * One UDP socket asking a Beacon node over loopback, many queries in flight at once, each told
 * apart by its id. Only the header is read (rcode, answer count): asking 1,000 times a second
 * must not make this process the bottleneck. A query unanswered within `timeoutMs` resolves
 * undefined, as does one still waiting when the asker is closed.
 */
export class DnsAsker {
  private readonly socket = createSocket('udp4');
  private readonly waiting = new Map<number, (asked: Asked | undefined) => void>();
  private nextId = 0;

  private constructor(private readonly port: number) {
    this.socket.on('message', (message) => {
      if (message.length < 12) return;
      const resolve = this.waiting.get(message.readUInt16BE(0));
      // rcode: the low 4 bits of the 4th header byte; ANCOUNT: bytes 6-7 (RFC 1035 §4.1.1).
      resolve?.({ noError: (message[3]! & 0x0f) === RCODE.NOERROR, answers: message.readUInt16BE(6) });
    });
  }

  static async open(port: number): Promise<DnsAsker> {
    const asker = new DnsAsker(port);
    asker.socket.bind(0, '127.0.0.1');
    await once(asker.socket, 'listening');
    return asker;
  }

  ask(name: string, type: 'A' | 'SRV', timeoutMs: number): Promise<Asked | undefined> {
    const id = this.freeId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (asked: Asked | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(asked);
      };
      this.waiting.set(id, finish);
      this.socket.send(queryPacket(name, type, { id }), this.port, '127.0.0.1');
    });
  }

  close(): void {
    for (const finish of [...this.waiting.values()]) finish(undefined);
    this.socket.close();
  }

  private freeId(): number {
    for (let tries = 0; tries < 65_536; tries++) {
      const id = this.nextId;
      this.nextId = (this.nextId + 1) & 0xffff;
      if (!this.waiting.has(id)) return id;
    }
    throw new Error('65,536 DNS queries in flight: no id left');
  }
}
