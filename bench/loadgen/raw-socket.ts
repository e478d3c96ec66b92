/**
 * The load generator's WebSocket client, on raw TCP sockets: a hand-made upgrade request, then a
 * reader that walks frame headers and skips payloads without looking at them. Only what a
 * measurement needs is read: the first 8 payload bytes of a probe's data frames (a timestamp),
 * control frames (to answer pings and to see close codes).
 *
 * Every socket reads into one shared buffer (`onread`), so receiving costs no allocation and no
 * stream machinery: the load generator must stay much cheaper than the servers it measures.
 */
import net from 'node:net';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const UPGRADE_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455's sample key: servers only hash it
const HEADER_END = Buffer.from('\r\n\r\n');

/** Messages received by every socket of this process. */
export const received = { messages: 0 };

export interface SocketTarget {
  host: string;
  port: number;
  path: string;
  localAddress?: string;
  /** Extra upgrade request headers (e.g. `Authorization: Bearer …`). */
  headers?: Readonly<Record<string, string>>;
}

export interface ReaderEvents {
  /** A probe got a whole binary message; `stamp` is its first 8 bytes as a float64. */
  onMessage?(stamp: number): void;
  /** The server sent a close frame (code 1005 when it had none) or the TCP connection ended. */
  onClose?(code: number): void;
}

/** Told after each read that brought data frames (the publisher feeding this subscriber tops up). */
export interface ReadWatcher {
  afterRead(): void;
}

/**
 * One subscriber or publisher connection. `messages` counts whole data messages received.
 */
export class RawWebSocket {
  messages = 0;
  closeCode = 0;
  socket!: net.Socket;
  /** Run after each read of this socket. */
  watcher: ReadWatcher | undefined;
  /** Resolves when the server answered 101, rejects with its status line otherwise. */
  readonly upgraded: Promise<void>;

  #handshakeDone = false;
  #head: Buffer | undefined;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  // Frame reading state.
  #payloadLeft = 0;
  #opcode = 0;
  #fin = true;
  #messageOpcode = 0;
  #collect = Buffer.allocUnsafe(125);
  #collectWanted = 0;
  #collectPos = 0;
  #carry: Buffer | undefined;

  constructor(
    target: SocketTarget,
    private readonly probe: boolean,
    private readonly events: ReaderEvents = {},
  ) {
    this.upgraded = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.upgraded.catch(() => {});
    const socket = net.connect({
      host: target.host,
      port: target.port,
      localAddress: target.localAddress,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (length: number, buffer: Uint8Array) => {
          this.#onRead(buffer as Buffer, length);
          return true;
        },
      },
    });
    this.socket = socket;
    const extra = target.headers ? Object.entries(target.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') : '';
    socket.on('connect', () => {
      socket.write(
        `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${UPGRADE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
    socket.on('error', (error) => {
      if (!this.#handshakeDone) this.#reject(error);
    });
    socket.on('close', () => {
      if (!this.#handshakeDone) this.#reject(new Error('connection closed before the upgrade'));
      else if (this.closeCode === 0) {
        this.closeCode = 1006;
        this.events.onClose?.(1006);
      }
    });
  }

  /** Sends bytes as they are (already framed and masked by the caller). */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  destroy(): void {
    this.closeCode ||= 1000;
    this.socket.destroy();
  }

  #onRead(buffer: Buffer, length: number): void {
    if (!this.#handshakeDone) {
      const chunk = Buffer.from(buffer.subarray(0, length));
      const head = (this.#head = this.#head ? Buffer.concat([this.#head, chunk]) : chunk);
      const end = head.indexOf(HEADER_END);
      if (end === -1) return;
      this.#handshakeDone = true;
      this.#head = undefined;
      const status = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!status.startsWith('HTTP/1.1 101')) {
        this.#reject(new Error(`upgrade refused: ${status}`));
        this.socket.destroy();
        return;
      }
      this.#resolve();
      if (end + 4 < head.length) this.#frames(head, end + 4, head.length);
      return;
    }
    if (this.#carry) {
      // A frame header was cut by the previous read: join it to this one (rare, small copy).
      const joined = Buffer.concat([this.#carry, buffer.subarray(0, length)]);
      this.#carry = undefined;
      this.#frames(joined, 0, joined.length);
    } else {
      this.#frames(buffer, 0, length);
    }
    this.watcher?.afterRead();
  }

  #frames(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, end - i);
        if (this.#collectPos < this.#collectWanted) {
          const copy = Math.min(this.#collectWanted - this.#collectPos, take);
          buf.copy(this.#collect, this.#collectPos, i, i + copy);
          this.#collectPos += copy;
        }
        i += take;
        this.#payloadLeft -= take;
        if (this.#payloadLeft === 0) this.#frameDone();
        continue;
      }
      // A frame header starts at i.
      if (end - i < 2) {
        this.#carry = Buffer.from(buf.subarray(i, end));
        return;
      }
      const b0 = buf[i]!;
      const b1 = buf[i + 1]!;
      let length = b1 & 0x7f;
      let headerLength = 2;
      if (length === 126) headerLength = 4;
      else if (length === 127) headerLength = 10;
      if (b1 & 0x80) headerLength += 4;
      if (end - i < headerLength) {
        this.#carry = Buffer.from(buf.subarray(i, end));
        return;
      }
      if (length === 126) length = buf.readUInt16BE(i + 2);
      else if (length === 127) length = buf.readUInt32BE(i + 2) * 2 ** 32 + buf.readUInt32BE(i + 6);
      i += headerLength;
      this.#opcode = b0 & 0x0f;
      this.#fin = (b0 & 0x80) !== 0;
      if (this.#opcode === 1 || this.#opcode === 2) this.#messageOpcode = this.#opcode;
      this.#collectPos = 0;
      // A probe reads a binary message's first 8 bytes; a JSON envelope's (text) first 125, which
      // hold the start of its base64 payload (see jsonStamp).
      this.#collectWanted =
        this.#opcode >= 8 ? Math.min(length, 125) : !this.probe ? 0 : this.#opcode === 2 ? Math.min(length, 8) : this.#opcode === 1 ? Math.min(length, 125) : 0;
      this.#payloadLeft = length;
      if (length === 0) this.#frameDone();
    }
  }

  #frameDone(): void {
    const opcode = this.#opcode;
    if (opcode < 8) {
      if (!this.#fin) return;
      this.messages++;
      received.messages++;
      if (this.probe && this.#messageOpcode === 2 && this.#collectPos === 8) this.events.onMessage?.(this.#collect.readDoubleLE(0));
      else if (this.probe && this.#messageOpcode === 1) {
        const stamp = jsonStamp(this.#collect, this.#collectPos);
        if (stamp !== undefined) this.events.onMessage?.(stamp);
      }
      return;
    }
    if (opcode === 9) {
      // Answer pings so a long idle run is not cut by the server's liveness check.
      this.socket.write(clientFrame(0xa, this.#collect.subarray(0, this.#collectPos)));
    } else if (opcode === 8) {
      const code = this.#collectPos >= 2 ? this.#collect.readUInt16BE(0) : 1005;
      if (this.closeCode === 0) {
        this.closeCode = code;
        this.events.onClose?.(code);
      }
      this.socket.end();
    }
  }
}

const BASE64_FIELD = Buffer.from('"base64":"');

/**
 * The publisher's clock from the start of a JSON envelope (`?format=json`): the payload's first
 * 8 bytes are the first 12 characters of its base64 (they encode 9 bytes).
 */
function jsonStamp(collected: Buffer, length: number): number | undefined {
  const at = collected.subarray(0, length).indexOf(BASE64_FIELD);
  if (at === -1 || at + BASE64_FIELD.length + 12 > length) return undefined;
  const start = at + BASE64_FIELD.length;
  return Buffer.from(collected.toString('latin1', start, start + 12), 'base64').readDoubleLE(0);
}

/**
 * A client frame (masked, as RFC 6455 requires of clients) with an all-zero mask key, so the
 * payload bytes go on the wire as they are and a batch of frames can be built once and restamped.
 */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const headerLength = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.alloc(headerLength + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}

/** Header length of a client frame carrying `payloadLength` bytes (mask key included). */
export function clientHeaderLength(payloadLength: number): number {
  return payloadLength < 126 ? 6 : payloadLength < 65536 ? 8 : 14;
}
