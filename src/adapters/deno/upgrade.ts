/**
 * `upgradeWebSocket` for Deno, on `Deno.upgradeWebSocket`. It does what `hono/deno`'s helper does
 * (which also works with `createBroker`, see examples/deno-mount.ts), plus three things the
 * standalone broker wants:
 * - `idleTimeout` from `pingInterval`: Deno pings a socket that has been silent that long and
 *   closes it if the pong does not come within as long again (PROTOCOL.md's ping rule);
 * - `binaryType = 'arraybuffer'`, so binary frames arrive as bytes rather than Blobs that take a
 *   promise to read;
 * - the `Upgrade` header compared without regard to case, as on Node.
 */
import { WSContext, defineWebSocketHelper, type WSEvents } from 'hono/ws';

export function denoUpgradeWebSocket(defaults: Deno.UpgradeWebSocketOptions) {
  return defineWebSocketHelper<WebSocket, Deno.UpgradeWebSocketOptions>((c, events, options) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return;
    const protocol = c.req.header('sec-websocket-protocol')?.split(',')[0]?.trim();
    const { response, socket } = Deno.upgradeWebSocket(c.req.raw, {
      ...defaults,
      ...(protocol ? { protocol } : {}),
      ...options,
    });
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
