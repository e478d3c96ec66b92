/**
 * The standard `SocketTransport` (transport.ts): turns an open WebSocket, as Hono hands it over
 * (`WSContext`), into a `Session`: a receiver the core can deliver to, plus liveness. It works on
 * any runtime through the standard surface; a runtime adapter may supply a faster one.
 */
import type { WSContext } from 'hono/ws';
import type { BrokerMessage, MessageData } from '../message.ts';
import { clock, type Session } from './sessions.ts';
import type { SessionOptions, SocketTransport } from './transport.ts';
import { gapJson, localJson, positionJson, STAMPED_JSON, stampedJson } from './json-envelope.ts';

interface RawWithBuffered {
  bufferedAmount?: number;
  getBufferedAmount?: () => number;
  ping?: () => void;
  on?: (event: string, listener: () => void) => void;
  terminate?: () => void;
}

export const standardTransport: SocketTransport = { openSession: standardSession };

function standardSession(ws: WSContext, options?: SessionOptions): Session {
  const raw = (ws.raw ?? {}) as RawWithBuffered;
  const bufferedAmount =
    typeof raw.getBufferedAmount === 'function'
      ? () => raw.getBufferedAmount!()
      : () => (typeof raw.bufferedAmount === 'number' ? raw.bufferedAmount : 0);
  const session: Session = {
    lastActivity: clock.now,
    awaitingPong: false,
    receiver: {
      deliver(message: BrokerMessage) {
        session.lastActivity = clock.now;
        try {
          ws.send(message.binary ? (message.data as Uint8Array<ArrayBuffer>) : (message.data as string));
        } catch {
          // The socket is closing; its close handler detaches it.
        }
      },
      bufferedAmount,
      close(code, reason) {
        try {
          ws.close(code, reason);
        } catch {
          session.terminate();
        }
      },
    },
    terminate() {
      if (typeof raw.terminate === 'function') raw.terminate();
      else ws.close(1001, 'terminated');
    },
  };
  if (options?.json) sendEnvelopes(session, ws);
  // Node's `ws` (also under @hono/node-ws) pings through the socket object.
  if (typeof raw.ping === 'function' && typeof raw.on === 'function') {
    session.ping = () => raw.ping!();
    raw.on('pong', () => {
      session.awaitingPong = false;
      session.lastActivity = clock.now;
    });
    // A client's own ping is traffic too (PROTOCOL.md: no frames either way means inactive).
    raw.on('ping', () => {
      session.lastActivity = clock.now;
    });
  } else {
    // Deno (`idleTimeout`) and Bun (`sendPings`) ping natively and close a peer that stops
    // answering, without showing us the pongs. A socket still open at a ping tick has answered,
    // so each tick counts as its pong (pongs count as activity, PROTOCOL.md).
    session.ping = () => {
      session.awaitingPong = false;
      session.lastActivity = clock.now;
    };
  }
  return session;
}

/** `?format=json`: every message goes out as its JSON envelope (json-envelope.ts). */
function sendEnvelopes(session: Session, ws: WSContext): void {
  const send = (text: string) => {
    session.lastActivity = clock.now;
    try {
      ws.send(text);
    } catch {
      // The socket is closing; its close handler detaches it.
    }
  };
  const receiver = session.receiver;
  receiver.deliver = (message, topic) => send(localJson(message, topic));
  receiver.deliverStamped = (message) => send(message.prepared(STAMPED_JSON, stampedJson));
  receiver.deliverGap = (gap) => send(gapJson(gap));
  receiver.deliverPosition = (position) => send(positionJson(position));
}

/** Normalises what runtimes put in a message event into text or bytes. */
export function toMessageData(data: unknown): MessageData | Promise<MessageData> {
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  return String(data);
}

/** Byte length of incoming data without encoding text twice in the common ASCII case. */
export function messageByteLength(data: MessageData): number {
  if (typeof data !== 'string') return data.byteLength;
  return data.length * 3 <= 0x7fffffff && isProbablyAscii(data) ? data.length : new TextEncoder().encode(data).byteLength;
}

function isProbablyAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
