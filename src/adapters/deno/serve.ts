/**
 * The standalone broker on Deno: one `Deno.serve` per listen address, WebSockets through
 * `denoUpgradeWebSocket` (Deno's own pings via `idleTimeout`), and a shutdown that closes every
 * socket with 1001 and returns within a deadline.
 */
import { createBroker, type Broker, type CreateBrokerInit } from '../../app/create-broker.ts';
import { joinClusterBeforeListening } from '../../engine/join-cluster.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { resolveOptions, type BrokerOptionsInput } from '../../options.ts';
import { ListenError, type ServingBroker } from '../../cli/run.ts';
import { listeningUrl, splitListen } from '../listen-address.ts';
import { denoUpgradeWebSocket } from './upgrade.ts';

export interface RunningBroker extends ServingBroker {
  readonly broker: Broker;
}

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export async function serveBroker(input: BrokerOptionsInput & Partial<Pick<CreateBrokerInit, 'log'>> = {}): Promise<RunningBroker> {
  const { log, ...optionInput } = input;
  const options = resolveOptions(optionInput);
  const broker = createBroker({
    ...options,
    upgradeWebSocket: denoUpgradeWebSocket({ idleTimeout: options.pingInterval }),
    log,
    loadRedisTransport: loadNodeRedisTransport,
  });
  await joinClusterBeforeListening(broker);
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  const urls: string[] = [];
  try {
    for (const address of options.listen) {
      const { host, port } = splitListen(address);
      const server = listen(broker, host, port, address);
      servers.push(server);
      urls.push(listeningUrl(host, server.addr.port));
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.shutdown()));
    broker.close();
    throw error;
  }
  return {
    broker,
    urls,
    close: (deadlineMs = 4000) => shutdown(broker, servers, deadlineMs),
  };
}

function listen(broker: Broker, host: string | undefined, port: number, address: string): Deno.HttpServer<Deno.NetAddr> {
  const serve = (hostname: string) =>
    Deno.serve({ hostname, port, onListen() {} }, (request, info) => broker.app.fetch(request, { info }));
  try {
    if (host !== undefined) return serve(host);
    // `*`: every interface, IPv6 and IPv4 alike, as Node's default listen does; IPv4 alone where
    // the machine has no IPv6.
    try {
      return serve('::');
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.NotCapable) throw error;
      return serve('0.0.0.0');
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) throw error;
    const reason =
      error instanceof Deno.errors.AddrInUse ? 'address already in use'
      : error instanceof Deno.errors.AddrNotAvailable ? 'address not available on this machine'
      : error instanceof Error ? error.message
      : String(error);
    throw new ListenError(`cannot listen at ${address}: ${reason}`);
  }
}

async function shutdown(broker: Broker, servers: Deno.HttpServer[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  broker.close();
  // Stop accepting; in-flight requests (SSE streams were just ended) may finish.
  const stopped = Promise.all(servers.map((server) => server.shutdown()));
  // Wait for the close handshakes, then cut whatever is left.
  while (broker.context.sessions.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  broker.context.sessions.terminateAll();
  await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))]);
  await broker.engine?.close();
}
