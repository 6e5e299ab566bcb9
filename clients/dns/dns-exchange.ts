import { connect, isIPv6 } from 'node:net';
import DNS from 'dns2';

const { Packet } = DNS;
export type DnsMessage = InstanceType<typeof Packet>;
export type DnsRecord = DnsMessage['answers'][number];
export type DnsRecordType = 'SRV' | 'A' | 'AAAA';

/**
 * Lookup failures, with the codes Node's resolver uses for the same cases, so code that
 * already handles `dns.promises` errors handles these too.
 */
export type DnsLookupErrorCode =
  | 'ENOTFOUND' // NXDOMAIN: no such service (or tag)
  | 'ENODATA' // the name exists, with no records of the type: no healthy instance
  | 'ESERVFAIL'
  | 'EREFUSED' // a name outside the server's zone (check `domain`)
  | 'ENOTIMP'
  | 'EFORMERR'
  | 'ETIMEOUT'
  | 'ECONNREFUSED'
  | 'EBADRESP' // an answer that cannot be read, or that answers another question
  | 'EBADNAME';

export class DnsLookupError extends Error {
  constructor(
    readonly code: DnsLookupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DnsLookupError';
  }
}

export interface DnsServerAddress {
  host: string;
  port: number;
}

const RCODES: Record<number, DnsLookupErrorCode> = { 1: 'EFORMERR', 2: 'ESERVFAIL', 3: 'ENOTFOUND', 4: 'ENOTIMP', 5: 'EREFUSED' };

/**
 * One question to one authoritative server: over UDP with dns2's client, and over TCP when the
 * answer comes back truncated (RFC 1035 §4.2.1, RFC 7766). dns2 rather than Node's resolver
 * because `dns.promises.Resolver.resolveSrv` drops the TTLs and the additional section, and a
 * client that caches must know how long it may.
 */
export class DnsExchange {
  constructor(
    readonly server: DnsServerAddress,
    private readonly timeoutMs: number,
  ) {}

  /** The answer, with NOERROR; every other rcode and every transport failure rejects with a DnsLookupError. */
  async ask(name: string, type: DnsRecordType): Promise<DnsMessage> {
    const answer = await this.overUdp(name, type);
    const full = answer.header.tc ? await this.overTcp(name, type) : answer;
    const code = RCODES[full.header.rcode];
    if (code !== undefined) throw new DnsLookupError(code, `${type} ${name}: ${describeRcode(code)} (from ${this.where()})`);
    if (full.header.rcode !== 0) throw new DnsLookupError('EBADRESP', `${type} ${name}: rcode ${full.header.rcode} from ${this.where()}`);
    return full;
  }

  private async overUdp(name: string, type: DnsRecordType): Promise<DnsMessage> {
    const { host, port } = this.server;
    // retryOverTCP is off because dns2's own TCP retry has no timeout; overTcp has one.
    const resolve = DNS.UDPClient({ dns: host, port, socketType: isIPv6(host) ? 'udp6' : 'udp4', timeout: this.timeoutMs, retryOverTCP: false });
    try {
      return await resolve(name, type, Packet.CLASS.IN, { recursive: false });
    } catch (error) {
      throw this.transportError(name, type, 'udp', error);
    }
  }

  /**
   * By hand rather than with dns2's TCPClient, which splits the server on ':' (no IPv6
   * literals) and waits forever for an answer; dns2's codec and stream reader are still used.
   */
  private async overTcp(name: string, type: DnsRecordType): Promise<DnsMessage> {
    const query = new Packet();
    query.header.id = Packet.uuid();
    query.header.rd = 0;
    query.questions.push({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN } as unknown as DnsMessage['questions'][number]);
    const message = query.toBuffer();
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    const socket = connect({ host: this.server.host, port: this.server.port });
    socket.setTimeout(this.timeoutMs, () => socket.destroy(Object.assign(new Error(`timed out after ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    try {
      socket.write(Buffer.concat([length, message]));
      const answer = Packet.parse(await Packet.readStream(socket));
      if (answer.header.id !== query.header.id) throw new DnsLookupError('EBADRESP', `${type} ${name}: the TCP answer has another id than the query`);
      return answer;
    } catch (error) {
      throw this.transportError(name, type, 'tcp', error);
    } finally {
      socket.destroy();
    }
  }

  private transportError(name: string, type: DnsRecordType, transport: 'udp' | 'tcp', error: unknown): DnsLookupError {
    if (error instanceof DnsLookupError) return error;
    const cause = error as { code?: unknown; message: string };
    // A system error (ECONNREFUSED, ECONNRESET, ...) means the server could not be talked to;
    // anything else came from decoding what it sent.
    const code: DnsLookupErrorCode = cause.code === 'ETIMEDOUT' ? 'ETIMEOUT' : typeof cause.code === 'string' ? 'ECONNREFUSED' : 'EBADRESP';
    return new DnsLookupError(code, `${type} ${name} over ${transport} to ${this.where()}: ${cause.message}`, { cause: error });
  }

  private where(): string {
    const { host, port } = this.server;
    return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  }
}

function describeRcode(code: DnsLookupErrorCode): string {
  switch (code) {
    case 'ENOTFOUND':
      return 'no such name (NXDOMAIN)';
    case 'EREFUSED':
      return 'refused (REFUSED: is the name inside the server\'s zone?)';
    case 'ESERVFAIL':
      return 'the server failed (SERVFAIL)';
    default:
      return code;
  }
}
