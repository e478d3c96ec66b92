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

const UPGRADE_SLOT = Symbol('broker-hono upgrade slot');

interface UpgradeSlot {
  events?: WSEvents<WebSocket> & DirectFrameEvents;
  url?: string;
}

type NodeEnv = { [UPGRADE_SLOT]?: UpgradeSlot; incoming?: IncomingMessage };

/** The `upgradeWebSocket` to give `createBroker` when serving with `attachUpgrades`. */
export const upgradeWebSocket = defineWebSocketHelper<WebSocket>(async (c, events) => {
  const slot = (c.env as NodeEnv | undefined)?.[UPGRADE_SLOT];
  if (!slot || c.req.header('upgrade')?.toLowerCase() !== 'websocket') return;
  slot.events = events as WSEvents<WebSocket> & DirectFrameEvents;
  slot.url = c.req.url;
  // A placeholder: the real answer is the 101 that `ws` writes once the route said yes.
  return new Response(null, { status: 200 });
});

export interface UpgradeOptions {
  /** Largest frame `ws` will accept; a bigger one closes the socket with 1009 (PROTOCOL.md). */
  maxPayload: number;
}

/** Routes every upgrade request on `servers` through `app` and completes the accepted ones. */
export function attachUpgrades(app: Hono, servers: Server[], options: UpgradeOptions): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxPayload,
  });
  // ws emits this for a socket error during the handshake; it must not reach the process.
  wss.on('wsClientError', (_error, socket) => socket.destroy());

  const onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const slot: UpgradeSlot = {};
    let response: Response;
    try {
      response = await app.fetch(toRequest(request), { incoming: request, [UPGRADE_SLOT]: slot } satisfies NodeEnv);
    } catch {
      response = new Response('{"error":"internal error"}', { status: 500 });
    }
    if (socket.destroyed) return; // the client went away while its request was checked
    if (!slot.events) {
      await writeRefusal(socket, response);
      return;
    }
    const events = slot.events;
    const url = slot.url!;
    wss.handleUpgrade(request, socket, head, (ws) => wire(ws, events, url));
  };
  for (const server of servers) server.on('upgrade', onUpgrade);
  return wss;
}

function toRequest(incoming: IncomingMessage): Request {
  const headers = new Headers();
  for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
    try {
      headers.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!);
    } catch {
      // A header the fetch API will not hold (odd bytes) is not one the broker reads.
    }
  }
  const host = incoming.headers.host && /^[A-Za-z0-9.\-:[\]]+$/.test(incoming.headers.host) ? incoming.headers.host : 'localhost';
  const path = incoming.url?.startsWith('/') ? incoming.url : '/';
  return new Request(`http://${host}${path}`, { method: 'GET', headers });
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
  if (!socket.destroyed) socket.end(Buffer.concat([Buffer.from(head), bodyBytes]));
}

/** Connects one accepted `ws` socket to the route's Hono events. */
function wire(ws: WebSocket, events: WSEvents<WebSocket> & DirectFrameEvents, url: string): void {
  const context = new WSContext<WebSocket>({
    send: (data) => ws.send(data as Buffer | string),
    close: (code, reason) => ws.close(code, reason),
    raw: ws,
    get readyState() {
      return ws.readyState as 0 | 1 | 2 | 3;
    },
    url,
  });
  ws.on('error', () => {
    // ws closes the socket itself (1002/1007/1009) and emits 'close' next.
  });
  ws.on('close', (code, reason) => {
    events.onClose?.(new CloseEvent('close', { code, reason: reason.toString() }), context);
  });
  const direct = events[DIRECT_FRAME];
  if (direct) {
    // The broker's own routes: each frame straight to its handler as a message, no MessageEvent,
    // and text stays the bytes ws has already checked to be UTF-8 (decoded only if needed).
    ws.on('message', (data, isBinary) => {
      const bytes = toBytes(data);
      direct(isBinary ? new BrokerMessage(bytes) : BrokerMessage.fromUtf8(bytes));
    });
  } else if (events.onMessage) {
    const onMessage = events.onMessage;
    ws.on('message', (data, isBinary) => {
      const payload = isBinary ? toBytes(data) : data.toString();
      // Bytes go through as they are (no copy into a new ArrayBuffer); the app accepts views.
      onMessage(new MessageEvent('message', { data: payload }) as MessageEvent<WSMessageReceive>, context);
    });
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
