/**
 * A subscriber that stops reading: a raw TCP socket that completes a WebSocket handshake and
 * then reads nothing, so the broker's bytes for it pile up (the README's slow consumer).
 * `closeCode()` starts reading again and resolves with the code of the close frame found after
 * whatever backlog the server had already written.
 */
import net from 'node:net';

export interface StalledSubscriber {
  /** Reads on, skipping data frames, until a close frame: its code (1005 without one, 1006 if the connection ends without it). */
  closeCode(): Promise<number>;
  destroy(): void;
}

export async function stalledSubscriber(wsUrl: string, path: string): Promise<StalledSubscriber> {
  const url = new URL(wsUrl);
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET ${url.pathname.replace(/\/$/, '')}${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buffered = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  const headEnd = buffered.indexOf('\r\n\r\n');
  if (!/^HTTP\/1\.1 101/.test(buffered.toString('latin1', 0, 12)) || headEnd === -1) {
    socket.destroy();
    throw new Error(`upgrade refused: ${buffered.toString('latin1').split('\r\n')[0]}`);
  }
  buffered = buffered.subarray(headEnd + 4);
  socket.pause();
  return {
    closeCode() {
      return new Promise<number>((resolve) => {
        let offset = 0;
        const scan = () => {
          for (;;) {
            if (buffered.length - offset < 2) return;
            let length = buffered[offset + 1]! & 0x7f;
            let header = 2;
            if (length === 126) {
              if (buffered.length - offset < 4) return;
              length = buffered.readUInt16BE(offset + 2);
              header = 4;
            } else if (length === 127) {
              if (buffered.length - offset < 10) return;
              length = Number(buffered.readBigUInt64BE(offset + 2));
              header = 10;
            }
            if (buffered.length - offset < header + length) return;
            if ((buffered[offset]! & 0x0f) === 0x8) return resolve(length >= 2 ? buffered.readUInt16BE(offset + header) : 1005);
            offset += header + length;
          }
        };
        socket.on('data', (chunk: Buffer) => {
          buffered = Buffer.concat([buffered.subarray(offset), chunk]);
          offset = 0;
          scan();
        });
        socket.once('close', () => resolve(1006));
        scan();
        socket.resume();
      });
    },
    destroy: () => socket.destroy(),
  };
}
