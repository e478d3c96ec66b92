/**
 * `upgradeWebSocket` for Deno, on `Deno.upgradeWebSocket`. It does what `hono/deno`'s helper does
 * (which also works with `createBroker`, see examples/deno-mount.ts), and is kept as our own
 * because that helper cannot serve the standalone broker as it is:
 * - it compares the `Upgrade` header case-sensitively (`!== "websocket"`), so a client sending
 *   `Upgrade: WebSocket`, which RFC 6455 §4.2.1 says to accept, would get a 426 on Deno alone;
 * - `idleTimeout` comes from `pingInterval` (Deno pings a socket that has been silent that long
 *   and closes it if the pong does not come within as long again, PROTOCOL.md's ping rule); with
 *   `hono/deno` it could only be passed by every route call.
 */
import { WSContext, defineWebSocketHelper, type UpgradeWebSocket, type WSEvents } from 'hono/ws';

export function denoUpgradeWebSocket(defaults: Deno.UpgradeWebSocketOptions): UpgradeWebSocket<WebSocket, Deno.UpgradeWebSocketOptions> {
  return defineWebSocketHelper<WebSocket, Deno.UpgradeWebSocketOptions>((c, events, options) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return;
    const protocol = c.req.header('sec-websocket-protocol')?.split(',')[0]?.trim();
    const { response, socket } = Deno.upgradeWebSocket(c.req.raw, {
      ...defaults,
      ...(protocol ? { protocol } : {}),
      ...options,
    });
    // Deno's default for server sockets (2.x); stated so frames never turn into Blobs to await.
    socket.binaryType = 'arraybuffer';
    wire(socket, events as WSEvents<WebSocket>);
    return response;
  });
}

function wire(socket: WebSocket, events: WSEvents<WebSocket>): void {
  const context = new WSContext<WebSocket>({
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
    raw: socket,
    get readyState() {
      return socket.readyState as 0 | 1 | 2 | 3;
    },
    url: socket.url ? new URL(socket.url) : null,
    get protocol() {
      return socket.protocol;
    },
  });
  socket.onopen = (event) => events.onOpen?.(event, context);
  socket.onmessage = (event) => events.onMessage?.(event, context);
  socket.onclose = (event) => events.onClose?.(event, context);
  socket.onerror = (event) => events.onError?.(event, context);
}

/**
 * `createBroker`'s `clientGoneSignal` on Deno: none. Deno cancels a response stream whose client
 * went away, which ends an SSE session by itself; reading `request.signal` at all would make
 * `Deno.serve` print its "legacy abort behavior" warning when the stream ends.
 */
export function noClientGoneSignal(): undefined {
  return undefined;
}
