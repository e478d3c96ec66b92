/**
 * RFC 6455 frames as a server sends them (unmasked, one frame per message): built once per
 * message and written unchanged to every subscriber, where `ws.send` would frame it again for
 * each one.
 */
import type { BrokerMessage } from '../../message.ts';

/** `BrokerMessage.prepared` key for the Node adapter's ready-made frame. */
export const SERVER_FRAME: object = { transport: 'node websocket frame' };

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const FIN = 0x80;

/** The whole frame (header and payload in one buffer) for `message`. */
export function serverFrame(message: BrokerMessage): Buffer {
  const payload = message.bytes;
  const length = payload.byteLength;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = FIN | (message.binary ? OPCODE_BINARY : OPCODE_TEXT);
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}
