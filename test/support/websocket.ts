import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** RFC 6455 §1.3: the server proves it read the handshake by hashing the key with this GUID. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function accept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A text frame (FIN, opcode 1) of a short payload; masked as a client must send it (§5.3). */
function textFrame(text: string, masked: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new RangeError('test frames are short');
  const mask = masked ? randomBytes(4) : undefined;
  const header = Buffer.from([0x81, (masked ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([header, payload]);
  return Buffer.concat([header, mask, payload.map((byte, i) => byte ^ mask[i % 4]!)]);
}

/** The text of the one short frame at the start of `data`, unmasking it if masked. */
function readTextFrame(data: Buffer): string {
  const masked = (data[1]! & 0x80) !== 0;
  const length = data[1]! & 0x7f;
  if (!masked) return data.subarray(2, 2 + length).toString();
  const mask = data.subarray(2, 6);
  return Buffer.from(data.subarray(6, 6 + length).map((byte, i) => byte ^ mask[i % 4]!)).toString();
}

export interface WebSocketEcho {
  port: number;
  /** The upgrade requests it received, for their headers. */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** A WebSocket server (RFC 6455 handshake) that answers each short text frame with `echo: <text>`; over TLS (wss) with `tls`. */
export async function startWebSocketEcho(tls?: { cert: Buffer; key: Buffer }): Promise<WebSocketEcho> {
  const sockets = new Set<Socket>();
  const requests: IncomingMessage[] = [];
  let closed: Promise<void> | undefined;
  const refuse = (_request: IncomingMessage, response: import('node:http').ServerResponse) => response.writeHead(426).end();
  const server: Server = tls ? (createHttpsServer(tls, refuse) as unknown as Server) : createServer(refuse);
  server.on('upgrade', (request: IncomingMessage, socket: Socket) => {
    requests.push(request);
    sockets.add(socket);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept(String(request.headers['sec-websocket-key']))}\r\n\r\n`);
    socket.on('data', (data: Buffer) => socket.write(textFrame(`echo: ${readTextFrame(data)}`, false)));
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close() {
      closed ??= (async () => {
        for (const socket of sockets) socket.destroy();
        server.close();
        server.closeAllConnections();
        await once(server, 'close');
      })();
      return closed;
    },
  };
}

/**
 * Opens a WebSocket to `port`, checks the handshake's accept value, sends `text` and answers the
 * reply's text. With `tlsCa`, over TLS (wss), trusting that CA.
 */
export async function webSocketRoundTrip(port: number, text: string, extraHeaders = '', tlsCa?: Buffer): Promise<{ status: string; head: string; accepted: boolean; reply: string }> {
  const socket = tlsCa ? tlsConnect({ port, host: '127.0.0.1', ca: tlsCa }) : connect({ port, host: '127.0.0.1' });
  socket.setTimeout(5000, () => socket.destroy(new Error('websocket round trip timed out')));
  // A connection closed without an error (a refusal, a cut) must end the wait for data, not hang it.
  const closed = new AbortController();
  socket.once('close', () => closed.abort(new Error('the connection closed before the round trip was over')));
  const { signal } = closed;
  try {
    await once(socket, tlsCa ? 'secureConnect' : 'connect', { signal });
    const key = randomBytes(16).toString('base64');
    socket.write(`GET /chat HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n${extraHeaders}\r\n`);
    let received = Buffer.alloc(0);
    while (!received.includes('\r\n\r\n')) received = Buffer.concat([received, ((await once(socket, 'data', { signal })) as [Buffer])[0]]);
    const end = received.indexOf('\r\n\r\n');
    const head = received.subarray(0, end).toString();
    let rest = received.subarray(end + 4);
    const status = head.split('\r\n')[0]!;
    const accepted = new RegExp(`^sec-websocket-accept: ${accept(key).replace(/[+/]/g, '\\$&')}$`, 'im').test(head);
    socket.write(textFrame(text, true));
    while (rest.length < 2 || rest.length < 2 + (rest[1]! & 0x7f)) rest = Buffer.concat([rest, ((await once(socket, 'data', { signal })) as [Buffer])[0]]);
    return { status, head, accepted, reply: readTextFrame(rest) };
  } finally {
    socket.destroy();
  }
}
