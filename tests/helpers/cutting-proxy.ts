/**
 * A TCP proxy that cuts every connection through it every few hundred milliseconds, as a flaky
 * network (or a load balancer that restarts) would: both sides see the connection drop without
 * a close frame. Each new connection goes to `upstream()`, which may name another server each
 * time (two cluster nodes in turn).
 */
import { createServer, connect, type Socket } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

export interface CuttingProxy {
  /** `http://127.0.0.1:PORT` plus the upstream's path prefix, if any (give it to the client). */
  readonly port: number;
  /** How many times it has cut the connections open at that moment (cuts with none open do not count). */
  readonly cuts: number;
  /** Connections it has carried. */
  readonly connections: number;
  /** Stops cutting (connections then stay up). */
  calm(): void;
  stop(): Promise<void>;
}

/** `cutEveryMs`: the pause between two cuts is drawn from this range. */
export async function cuttingProxy(upstream: () => Upstream, cutEveryMs: [number, number]): Promise<CuttingProxy> {
  const open = new Set<Socket>();
  let cuts = 0;
  let connections = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const server = createServer((client) => {
    connections++;
    const target = upstream();
    const server = connect(target.port, target.host);
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      open.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        open.delete(from);
        to.destroy();
      });
    }
  });
  const cut = () => {
    if (open.size > 0) cuts++;
    for (const socket of open) socket.destroy();
    timer = setTimeout(cut, cutEveryMs[0] + Math.random() * (cutEveryMs[1] - cutEveryMs[0]));
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  timer = setTimeout(cut, cutEveryMs[0]);
  return {
    port: (server.address() as { port: number }).port,
    get cuts() {
      return cuts;
    },
    get connections() {
      return connections;
    },
    calm() {
      clearTimeout(timer);
    },
    async stop() {
      clearTimeout(timer);
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Host and port of a server URL (`http://127.0.0.1:PORT/prefix`). */
export function upstreamOf(url: string): Upstream {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}
