/**
 * WebSocket upgrades on Node, owned here rather than by `@hono/node-ws` so that a refusal keeps
 * its JSON body (node-ws answers a refused upgrade with a bare status line) and so the size
 * limit is enforced by `ws` itself while a frame arrives (`maxPayload`), not after buffering.
 * Still `ws` underneath, and still driven through the Hono app's routes.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Hono } from 'hono';
import { WSContext, defineWebSocketHelper, type WSEvents, type WSMessageReceive } from 'hono/ws';
import { BrokerMessage } from '../../message.ts';
import { DIRECT_FRAME, type DirectFrameEvents } from '../../app/direct-frames.ts';
import { upgradeRequest } from './upgrade-request.ts';

const UPGRADE_SLOT = Symbol('broker-hono upgrade slot');

interface UpgradeSlot {
  events?: WSEvents<WebSocket> & DirectFrameEvents;
}

type NodeEnv = { [UPGRADE_SLOT]?: UpgradeSlot; incoming?: IncomingMessage };

/** The `upgradeWebSocket` to give `createBroker` when serving with `attachUpgrades`. */
export const upgradeWebSocket = defineWebSocketHelper<WebSocket>(async (c, events) => {
  const slot = (c.env as NodeEnv | undefined)?.[UPGRADE_SLOT];
  if (!slot || c.req.header('upgrade')?.toLowerCase() !== 'websocket') return;
  slot.events = events as WSEvents<WebSocket> & DirectFrameEvents;
  // A placeholder: the real answer is the 101 that `ws` writes once the route said yes.
  return new Response(null, { status: 200 });
});

export interface UpgradeOptions {
  /** Largest frame `ws` will accept; a bigger one closes the socket with 1009 (PROTOCOL.md). */
  maxPayload: number;
  /** Where the one line about a refused handshake goes. */
  log?: (line: string) => void;
}

/** Routes every upgrade request on `servers` through `app` and completes the accepted ones. */
export function attachUpgrades(app: Hono, servers: Server[], options: UpgradeOptions): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxPayload,
  });
  // ws emits this for a handshake it refuses (bad key or version, say): answer with the same JSON
  // body as every other refusal, log one line, and never let it reach the process as an error.
  wss.on('wsClientError', (error, socket) => {
    const status = error.message === 'Invalid HTTP method' ? 405 : 400;
    options.log?.(`refused upgrade: ${status} ${error.message}`);
    void writeRefusal(socket, new Response(JSON.stringify({ error: error.message }), { status, headers: { 'content-type': 'application/json; charset=utf-8' } }));
  });

  const onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    const slot: UpgradeSlot = {};
    let response: Response;
    try {
      response = await app.fetch(upgradeRequest(request), { incoming: request, [UPGRADE_SLOT]: slot } satisfies NodeEnv);
    } catch {
      response = new Response('{"error":"internal error"}', { status: 500 });
    }
    const events = slot.events;
    if (!events) {
      if (!socket.destroyed) await writeRefusal(socket, response);
      return;
    }
    // The route accepted: exactly one of open or close must now reach its events, so the
    // connection slot it holds is released even when the handshake never completes (the client
    // went away while its request was checked, or ws refused the handshake).
    let settled = false;
    const handshakeFailed = () => {
      if (settled) return;
      settled = true;
      events.onClose?.(new CloseEvent('close', { code: 1006, reason: 'handshake failed' }), new WSContext(CLOSED_SOCKET));
    };
    if (socket.destroyed) return handshakeFailed();
    socket.once('close', handshakeFailed);
    wss.handleUpgrade(request, socket, head, (ws) => {
      settled = true;
      socket.off('close', handshakeFailed);
      // From here `ws` handles the socket's errors.
      socket.off('error', destroyOnError);
      if (options.log) (ws as LoggingSocket)[LOG] = options.log;
      wire(ws, events);
    });
  };
  for (const server of servers) server.on('upgrade', onUpgrade);
  return wss;
}

async function writeRefusal(socket: Duplex, response: Response): Promise<void> {
  let body = '';
  try {
    body = await response.text();
  } catch {
    body = '';
  }
  const bodyBytes = Buffer.from(body);
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\nConnection: close\r\n`;
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection') head += `${name}: ${value}\r\n`;
  });
  head += `Content-Length: ${bodyBytes.length}\r\n\r\n`;
  if (socket.destroyed) return;
  // The socket is ours after an upgrade request: once the answer is flushed, drop it, or a client
  // that never closes its side would keep it half-open for good.
  socket.once('finish', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(head), bodyBytes]));
}

/** What `onClose` is handed for a socket whose handshake never completed. */
const CLOSED_SOCKET = { send() {}, close() {}, readyState: 3 as const };

/**
 * What `WSContext` needs of a `ws` socket: one small object per connection with its methods on
 * the prototype (closures would cost memory on every one of thousands of idle connections).
 */
class NodeSocketInit {
  constructor(readonly raw: WebSocket) {}

  send(data: string | ArrayBuffer | Uint8Array): void {
    this.raw.send(data);
  }

  close(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.raw.readyState as 0 | 1 | 2 | 3;
  }
}

/** Where a socket's one line about a protocol error goes (a property, not a closure per socket). */
const LOG = Symbol('broker-hono log');
type LoggingSocket = WebSocket & { [LOG]?: (line: string) => void };

function logProtocolError(this: WebSocket, error: Error): void {
  // ws closes the socket itself (1002 protocol error, 1007 bad UTF-8, 1009 too big) and emits
  // 'close' next; the client's mistake is worth one line, never a stack trace.
  (this as LoggingSocket)[LOG]?.(`closed WebSocket: ${wsCloseCode(error) ?? 'error'} ${error.message}`);
}

/** The close code ws attached to a protocol error (under its own `status-code` symbol). */
function wsCloseCode(error: Error): number | undefined {
  const key = Object.getOwnPropertySymbols(error).find((symbol) => symbol.description === 'status-code');
  const code = key === undefined ? undefined : (error as unknown as Record<symbol, unknown>)[key];
  return typeof code === 'number' ? code : undefined;
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The broker's own events of a socket accepted with `DIRECT_FRAME` (see direct-frames.ts). */
const DIRECT_EVENTS = Symbol('broker-hono direct events');
type DirectSocket = WebSocket & { [DIRECT_EVENTS]: WSEvents<WebSocket> & Required<DirectFrameEvents> };

// Shared listeners (`this` is the socket): no closures kept per idle connection.
function onDirectMessage(this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const bytes = toBytes(data);
  // Text stays the bytes ws has already checked to be UTF-8, decoded only if someone needs it.
  (this as DirectSocket)[DIRECT_EVENTS][DIRECT_FRAME](isBinary ? new BrokerMessage(bytes) : BrokerMessage.fromUtf8(bytes));
}

function onDirectClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as DirectSocket)[DIRECT_EVENTS].onClose?.(new CloseEvent('close', { code, reason: reason.toString() }), new WSContext(new NodeSocketInit(this)));
}

/** Connects one accepted `ws` socket to the route's Hono events. */
function wire(ws: WebSocket, events: WSEvents<WebSocket> & DirectFrameEvents): void {
  const context = new WSContext<WebSocket>(new NodeSocketInit(ws));
  ws.on('error', logProtocolError);
  if (events[DIRECT_FRAME]) {
    // The broker's own routes: each frame straight to its handler as a message, no MessageEvent.
    const socket = ws as DirectSocket;
    socket[DIRECT_EVENTS] = events as DirectSocket[typeof DIRECT_EVENTS];
    socket.on('close', onDirectClose);
    socket.on('message', onDirectMessage);
  } else {
    ws.on('close', (code, reason) => {
      events.onClose?.(new CloseEvent('close', { code, reason: reason.toString() }), context);
    });
    if (events.onMessage) {
      ws.on('message', (data, isBinary) => {
        const payload = isBinary ? toBytes(data) : data.toString();
        // Bytes go through as they are (no copy into a new ArrayBuffer); the app accepts views.
        events.onMessage!(new MessageEvent('message', { data: payload }) as MessageEvent<WSMessageReceive>, context);
      });
    }
  }
  events.onOpen?.(new Event('open'), context);
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

// Node 20 has no global CloseEvent.
const CloseEvent: typeof globalThis.CloseEvent =
  globalThis.CloseEvent ??
  (class extends Event {
    readonly code: number;
    readonly reason: string;
    readonly wasClean = true;
    constructor(type: string, init: { code?: number; reason?: string } = {}) {
      super(type);
      this.code = init.code ?? 0;
      this.reason = init.reason ?? '';
    }
  } as unknown as typeof globalThis.CloseEvent);
