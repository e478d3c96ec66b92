/**
 * An HTTP request on a raw socket that the test sends in pieces, or never finishes: a body held
 * back at its last byte, a head or body trickled a byte at a time, a chunked body of many tiny
 * chunks. It records what the server answered and when the connection ended.
 */
import type { Socket } from 'node:net';
import { tcpConnect } from './raw-ws.ts';

export class HeldRequest {
  /** Everything the server wrote. */
  answer = '';
  /** Milliseconds from the first byte sent to the connection's end; undefined while open. */
  endedAfterMs: number | undefined;
  readonly ended: Promise<void>;
  #trickle: ReturnType<typeof setInterval> | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly startedAt: number,
  ) {
    this.ended = new Promise((resolve) =>
      socket.once('close', () => {
        this.endedAfterMs = Date.now() - this.startedAt;
        this.stopTrickle();
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => (this.answer += chunk.toString('latin1')));
  }

  /** Connects and sends `first` (a head, maybe part of a body). */
  static async send(httpUrl: string, first: string | Buffer): Promise<HeldRequest> {
    const socket = await tcpConnect(httpUrl);
    socket.on('error', () => {});
    const held = new HeldRequest(socket, Date.now());
    await held.write(first);
    return held;
  }

  /** Writes more; resolves once the bytes are handed to the kernel. */
  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Sends `bytes` one byte every `intervalMs` until they run out or the connection ends. */
  trickle(bytes: string, intervalMs: number): void {
    let next = 0;
    this.#trickle = setInterval(() => {
      if (next >= bytes.length || this.socket.destroyed) return this.stopTrickle();
      this.socket.write(bytes[next++]!);
    }, intervalMs);
  }

  stopTrickle(): void {
    clearInterval(this.#trickle);
  }

  /** The status of the server's answer, 0 if none. */
  get status(): number {
    return Number(/^HTTP\/1\.[01] (\d{3})/.exec(this.answer)?.[1] ?? 0);
  }

  /** The answer's body as JSON (the broker's `{"error": ...}`). */
  json(): { error?: string } {
    return JSON.parse(this.answer.slice(this.answer.indexOf('\r\n\r\n') + 4)) as { error?: string };
  }

  /** Resolves when the connection ends or after `timeoutMs`, whichever is first. */
  async endedWithin(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.ended.then(() => true), expired]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.stopTrickle();
    this.socket.destroy();
  }
}

/** A chunked body of `count` chunks of one byte (`x`): 6 bytes on the wire each. */
export function oneByteChunks(count: number): Buffer {
  return Buffer.from('1\r\nx\r\n'.repeat(count), 'latin1');
}

/** The head of a POST to `path` (relative to `httpUrl`, mount prefix included). */
export function postHead(httpUrl: string, path: string, headers: Record<string, string | number>): string {
  const url = new URL(httpUrl);
  let head = `POST ${url.pathname.replace(/\/$/, '')}${path} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}
