/**
 * Your own Hono app, with a broker mounted in it, served on Deno the way the standalone broker is
 * (http-server.ts): `node:http` with the broker's WebSocket upgrades, fast send path, request
 * timeouts and accept guard. `hono/deno`'s `upgradeWebSocket` with `Deno.serve` works too
 * (examples/deno-mount.ts), at the speed of `Deno.upgradeWebSocket` (README, Benchmarks).
 *
 * Importing this module loads `ws`, which reads `WS_NO_BUFFER_UTIL` and `WS_NO_UTF_8_VALIDATE`
 * as it loads: grant them (`--allow-env=WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE`), or import it
 * the way load-server.ts loads the standalone server.
 *
 * ```ts
 * const options = resolveOptions({ mode: 'production' });
 * const broker = createBroker({ ...options, upgradeWebSocket, transport: brokerTransport(options.maxBufferedBytes) });
 * app.route('/broker', broker.app);
 * const served = await serveApp(app, { hostname: '127.0.0.1', port: 8080, maxMessageSize: broker.options.maxMessageSize });
 * ```
 */
import type { Server } from 'node:http';
import type { Hono } from 'hono';
import { defaultLog } from '../../app/context.ts';
import { standardTransport } from '../../app/socket-session.ts';
import type { SocketTransport } from '../../app/transport.ts';
import { fastTransport } from '../node/fast-socket-session.ts';
import { appServer, listen } from './http-server.ts';
import { acceptGuardFor, descriptorsFor } from './descriptors.ts';

/** The `upgradeWebSocket` to give `createBroker` when the app is served with `serveApp`. */
export { upgradeWebSocket } from '../node/upgrade.ts';

/**
 * The fast send path, for `createBroker({ transport })` (falls back to `ws.send`, logged once);
 * `maxBufferedBytes` is the broker's (see `taskAllowance` in node/fast-socket-session.ts).
 */
export function brokerTransport(maxBufferedBytes: number, log: (line: string) => void = defaultLog): SocketTransport {
  return fastTransport(standardTransport, log, { taskAllowance: maxBufferedBytes });
}

export interface ServeAppInit {
  hostname: string;
  /** 0 for a free port (see `port` of the result). */
  port: number;
  /** The broker's `maxMessageSize`: bigger WebSocket frames close with 1009 as they arrive. */
  maxMessageSize: number;
  /** Sizes the accept guard (descriptors.ts); the broker's `maxConnections`. Default 10000. */
  maxConnections?: number;
  log?: (line: string) => void;
}

export interface ServedApp {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting and cuts every connection (close the broker first for its 1001s). */
  close(): Promise<void>;
}

export async function serveApp(app: Hono, init: ServeAppInit): Promise<ServedApp> {
  const log = init.log ?? defaultLog;
  const guard = acceptGuardFor(descriptorsFor(init.maxConnections ?? 10000), log);
  const server = appServer(app, { maxPayload: init.maxMessageSize, log });
  const port = await listen(server, init.hostname, init.port, guard);
  return {
    server,
    port,
    close() {
      guard?.stop();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
