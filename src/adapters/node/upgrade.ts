/**
 * WebSocket upgrades on Node, owned here rather than by `@hono/node-ws` so that a refusal keeps
 * its JSON body (node-ws answers a refused upgrade with a bare status line), so the size limit is
 * enforced by `ws` itself while a frame arrives (`maxPayload`), not after buffering, and so every
 * upgrade socket has an error listener from the first byte (a client that resets the connection
 * must never reach the process as an uncaught error). Still `ws` underneath, and still driven
 * through the Hono app's routes:
 *
 * ```
 * server 'upgrade' ─► app.fetch(request, { incoming, upgrade })  ─► the route's guards
 *   ─► upgradeWebSocket(c, events) (below) ─► upgrade.accept(events) ─► ws.handleUpgrade
 *   ─► events.onOpen, then events.frame(message) per frame (transport.ts)
 * ```
 * A route that refuses returns its JSON response, which is written to the socket as it is. A
 * request with an `Upgrade` header other than `websocket` reaches Node's upgrade path too: it is
 * answered like any other request, and an SSE stream opened that way lives only as long as its
 * socket (raw-response.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Context, Hono } from 'hono';
import { WSContext, defineWebSocketHelper, type UpgradeWebSocket, type WSEvents, type WSMessageReceive } from 'hono/ws';
import { BrokerMessage } from '../../message.ts';
import { isBrokerSocketEvents, type BrokerSocketEvents } from '../../app/transport.ts';
import { upgradeRequest } from './upgrade-request.ts';
import { handshakeRefusal } from './handshake.ts';
import { writeResponse } from './raw-response.ts';
import { throttlePublisher, turnBudgetOn } from './turn-budget.ts';

/**
 * What an upgrade request carries in `c.env` on Node (Hono's bindings): the request as Node saw
 * it, and the upgrade that `upgradeWebSocket` completes once the route accepts.
 */
export interface NodeUpgradeBindings {
  incoming: IncomingMessage;
  upgrade?: PendingUpgrade;
}

/** Hono's form of the helper, for `upgradeWebSocket(createEvents)` used as a middleware. */
const upgradeWebSocketMiddleware: UpgradeWebSocket<WebSocket> = defineWebSocketHelper<WebSocket>((c, events) => acceptUpgrade(c, events));

/**
 * The `upgradeWebSocket` to give `createBroker` when serving with `attachUpgrades`. The broker's
 * routes call it as `upgradeWebSocket(c, events)`: answered here without Hono's async wrapper
 * (two promises and two resumed functions per handshake), with the same outcome: a promise of
 * the placeholder response, or rejected when this request cannot be upgraded.
 */
export const upgradeWebSocket = ((...args: Parameters<UpgradeWebSocket<WebSocket>>) => {
  if (typeof args[0] === 'function') return (upgradeWebSocketMiddleware as (...a: unknown[]) => unknown)(...args);
  const [c, events] = args as unknown as [Context, WSEvents<WebSocket>];
  const response = acceptUpgrade(c, events);
  return response ? Promise.resolve(response) : Promise.reject(new Error('Failed to upgrade WebSocket'));
}) as UpgradeWebSocket<WebSocket>;

function acceptUpgrade(c: Context, events: WSEvents<WebSocket>): Response | undefined {
  const upgrade = (c.env as NodeUpgradeBindings | undefined)?.upgrade;
  if (!upgrade || c.req.header('upgrade')?.toLowerCase() !== 'websocket') return undefined;
  upgrade.accept(events);
  // A placeholder the server never sends: the socket already got its 101 (or its refusal).
  return new Response(null, { status: 200 });
}

export interface UpgradeOptions {
  /** Largest frame `ws` will accept; a bigger one closes the socket with 1009 (PROTOCOL.md). */
  maxPayload: number;
  /** Where the one line about a refused handshake goes. */
  log?: (line: string) => void;
}

/**
 * The `ws` socket class the server makes: a `ws` WebSocket that also holds the route's events
 * and the log, as plain fields, so the listeners below are shared functions and an idle
 * connection keeps no closures.
 */
class BrokerWebSocket extends WebSocket {
  declare brokerEvents: BrokerSocketEvents<WebSocket>;
  declare brokerLog: ((line: string) => void) | undefined;
}

/**
 * What `attachUpgrades` needs of a server: its `upgrade` event. A `node:http` server, or what
 * `@hono/node-server`'s `serve` returns (typed as a union with HTTP/2 servers).
 */
export interface UpgradeServer {
  on(event: 'upgrade', listener: (request: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
}

/** Routes every upgrade request on `servers` through `app` and completes the accepted ones. */
// deno-lint-ignore no-explicit-any
export function attachUpgrades(app: Hono<any, any, any>, servers: readonly UpgradeServer[], options: UpgradeOptions): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.maxPayload,
    WebSocket: BrokerWebSocket,
  });
  // What `ws` still refuses after `handshakeRefusal` passed (a malformed Sec-WebSocket-Protocol):
  // the same JSON body as every other refusal, one log line, never an error for the process.
  wss.on('wsClientError', (error, socket) => {
    options.log?.(`refused upgrade: 400 ${error.message}`);
    void writeResponse(socket, jsonRefusal(400, error.message));
  });

  const onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    if (!servesAsPlainRequest(request)) {
      options.log?.(`refused ${request.method} with Upgrade ${JSON.stringify(request.headers.upgrade)}: 400`);
      await writeResponse(socket, jsonRefusal(400, `this server upgrades only to websocket; send ${request.method} without an Upgrade header`));
      return;
    }
    const routed = upgradeRequest(request);
    if (!routed) {
      options.log?.(`refused upgrade: 400 invalid Host header ${JSON.stringify(request.headers.host)}`);
      await writeResponse(socket, jsonRefusal(400, 'invalid Host header'));
      return;
    }
    const upgrade = new PendingUpgrade(wss, request, socket, head, options.log);
    let response: Response;
    try {
      response = await app.fetch(routed, { incoming: request, upgrade } satisfies NodeUpgradeBindings);
    } catch {
      response = jsonRefusal(500, 'internal error');
    }
    if (!upgrade.accepted && !socket.destroyed) await writeResponse(socket, response);
  };
  for (const server of servers) server.on('upgrade', onUpgrade);
  return wss;
}

/**
 * Whether a request Node handed over as an upgrade can be answered: a WebSocket handshake (the
 * route decides), or a GET or HEAD naming another protocol (`curl --http2` sends `Upgrade: h2c`),
 * which is answered as if the header were not there. Any other method would carry a body that
 * Node has not parsed.
 */
function servesAsPlainRequest(request: IncomingMessage): boolean {
  if (request.headers.upgrade?.toLowerCase() === 'websocket') return true;
  return request.method === 'GET' || request.method === 'HEAD';
}

/** One upgrade request on its way through the app; `accept` completes it. */
class PendingUpgrade {
  accepted = false;

  constructor(
    private readonly wss: WebSocketServer,
    private readonly request: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  /**
   * The route said yes: complete the handshake with `ws`. Exactly one of open or close then
   * reaches `events`, so the connection slot the route holds is released even when the
   * handshake never completes (the client went away while its request was checked, or the
   * handshake itself is refused).
   */
  accept(events: WSEvents<WebSocket>): void {
    this.accepted = true;
    const socket = this.socket;
    let settled = false;
    const handshakeFailed = () => {
      if (settled) return;
      settled = true;
      events.onClose?.(new CloseEvent('close', { code: 1006, reason: 'handshake failed' }), new WSContext(CLOSED_SOCKET));
    };
    if (socket.destroyed) return handshakeFailed();
    const refusal = handshakeRefusal(this.request);
    if (refusal) {
      this.log?.(`refused upgrade: ${refusal.status} ${refusal.error}`);
      void writeResponse(socket, jsonRefusal(refusal.status, refusal.error, refusal.headers));
      return handshakeFailed();
    }
    socket.once('close', handshakeFailed);
    this.wss.handleUpgrade(this.request, socket, this.head, (ws) => {
      settled = true;
      socket.off('close', handshakeFailed);
      // From here `ws` handles the socket's errors.
      socket.off('error', destroyOnError);
      const brokerSocket = ws as BrokerWebSocket;
      brokerSocket.brokerLog = this.log;
      wire(brokerSocket, events);
    });
  }
}

function jsonRefusal(status: number, error: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
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

/**
 * The close code `ws` sends for a protocol error, from the error's documented `code` (ws's
 * docs/ws.md, "Error codes"; the codes are ws's receiver's): invalid UTF-8 is 1007, a frame too
 * big 1009, too many fragments 1008, anything else about the framing 1002.
 */
const CLOSE_CODE_BY_WS_ERROR: Record<string, number> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

// `ws` types its listeners' `this` as its own WebSocket; the sockets here are BrokerWebSockets.
function logProtocolError(this: WebSocket, error: Error & { code?: string }): void {
  // ws closes the socket itself and emits 'close' next; the client's mistake is worth one line,
  // never a stack trace. Errors that are not ws's own (the connection failed) have no close code.
  const code = error.code?.startsWith('WS_ERR_') ? (CLOSE_CODE_BY_WS_ERROR[error.code] ?? 1002) : 'error';
  (this as BrokerWebSocket).brokerLog?.(`closed WebSocket: ${code} ${error.message}`);
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

// Shared listeners for the broker's own routes (`this` is the socket): each frame straight to
// `frame` as a message, no MessageEvent, no closure per idle connection.
function onFrame(this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const bytes = toBytes(data);
  // Text stays the bytes ws has already checked to be UTF-8, decoded only if someone needs it.
  (this as BrokerWebSocket).brokerEvents.frame(isBinary ? new BrokerMessage(bytes) : BrokerMessage.fromUtf8(bytes));
  // A turn that has collected too much fan-out reads no more from this publisher (turn-budget.ts).
  if (turnBudgetOn) throttlePublisher((this as unknown as { _socket?: Duplex })._socket, bytes.byteLength);
}

function onFrameSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as BrokerWebSocket).brokerEvents.onClose?.(new CloseEvent('close', { code, reason: reason.toString() }), new WSContext(new NodeSocketInit(this)));
}

/** Connects one accepted `ws` socket to the route's Hono events. */
function wire(ws: BrokerWebSocket, events: WSEvents<WebSocket>): void {
  const context = new WSContext<WebSocket>(new NodeSocketInit(ws));
  ws.on('error', logProtocolError);
  if (isBrokerSocketEvents(events)) {
    ws.brokerEvents = events;
    ws.on('close', onFrameSocketClose);
    ws.on('message', onFrame);
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
