import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import DNS from 'dns2';

const { Packet } = DNS;
export { Packet };

export interface QueryOptions {
  /** EDNS0 UDP size to advertise; none: a classic 512-byte query. */
  edns?: number;
  id?: number;
  rd?: boolean;
}

/** A query packet built with dns2's encoder (tests only: the server never encodes per query). */
export function queryPacket(name: string, type: keyof typeof Packet.TYPE, options: QueryOptions = {}): Buffer {
  const packet = new Packet();
  packet.header.id = options.id ?? 4242;
  packet.header.rd = options.rd === false ? 0 : 1;
  packet.questions.push({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN } as unknown as (typeof packet.questions)[number]);
  if (options.edns) packet.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: options.edns }));
  return packet.toBuffer();
}

export function parse(buffer: Buffer): InstanceType<typeof Packet> {
  return Packet.parse(buffer);
}

/** Sends raw bytes over UDP and resolves with the raw answer (or undefined after timeoutMs). */
export function udpExchange(port: number, packet: Buffer, timeoutMs = 2_000, host = '127.0.0.1'): Promise<Buffer | undefined> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    socket.on('message', (message) => finish(message));
    socket.send(packet, port, host);
  });
}

/**
 * Sends length-prefixed queries over one TCP connection (pipelined) and collects the answers;
 * rejects if the connection fails or closes before every answer came.
 */
export function tcpExchange(port: number, packets: Buffer[], host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const answers: Buffer[] = [];
    let pending = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the connection closed after ${answers.length} of ${packets.length} answers`)));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        answers.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (answers.length === packets.length) {
        socket.end();
        resolve(answers);
      }
    });
    socket.write(Buffer.concat(packets.map((packet) => Buffer.concat([Buffer.from([packet.length >> 8, packet.length & 0xff]), packet]))));
  });
}
