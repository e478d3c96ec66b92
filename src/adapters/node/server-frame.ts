/**
 * RFC 6455 frames as a server sends them (unmasked, one frame per message), built by `ws`'s own
 * public `Sender.frame` once per message and written unchanged to every subscriber, where
 * `ws.send` would frame it again for each one.
 */
import * as ws from 'ws';
import type { BrokerMessage } from '../../message.ts';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

/** `ws` exports its frame builder (`Sender`) at run time; @types/ws does not declare it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Uint8Array, options: FrameOptions): Buffer[] } };

/** `BrokerMessage.prepared` key for the Node adapter's ready-made frame. */
export const SERVER_FRAME: object = { transport: 'node websocket frame' };

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;

/**
 * The whole frame for `message` in one buffer. `Sender.frame` returns the header and the payload
 * apart (it never copies a server's payload); joined once here, every subscriber's write is one
 * buffer instead of two.
 */
export function serverFrame(message: BrokerMessage): Buffer {
  const parts = Sender.frame(message.bytes, {
    fin: true,
    rsv1: false,
    opcode: message.binary ? OPCODE_BINARY : OPCODE_TEXT,
    mask: false,
    readOnly: false,
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The whole text frame for `text` (JSON envelopes, built once per message or stream position). */
export function textFrame(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: OPCODE_TEXT, mask: false, readOnly: false });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
