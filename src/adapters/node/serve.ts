/**
 * The standalone broker on Node: one HTTP server per listen address (`@hono/node-server` for
 * plain requests, `attachUpgrades` for WebSockets), and a shutdown that closes every socket with
 * 1001 and returns within a deadline.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createBroker, type Broker, type CreateBrokerInit } from '../../app/create-broker.ts';
import { joinClusterBeforeListening } from '../../engine/join-cluster.ts';
import { loadNodeRedisTransport } from '../redis/load-node-redis.ts';
import { resolveOptions, type BrokerOptionsInput } from '../../options.ts';
import { ListenError } from '../../cli/run.ts';
import { listeningUrl, splitListen } from '../listen-address.ts';
import { attachUpgrades, upgradeWebSocket } from './upgrade.ts';
import { fastTransport } from './fast-socket-session.ts';
import { standardTransport } from '../../app/socket-session.ts';
import { answerClientErrors } from './client-errors.ts';
import { withDebugHeap } from './debug-heap.ts';
import { headViaGet } from './head-requests.ts';

export { ListenError };

export interface RunningBroker {
  readonly broker: Broker;
  /** The real addresses, port 0 replaced by the port the system picked: `http://HOST:PORT`. */
  readonly urls: string[];
  /** Stops accepting, closes every socket with 1001; resolves when all is closed. */
  close(deadlineMs?: number): Promise<void>;
}

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export async function serveBroker(input: BrokerOptionsInput & Partial<Pick<CreateBrokerInit, 'log'>> = {}): Promise<RunningBroker> {
  const { log, ...optionInput } = input;
  const options = resolveOptions(optionInput);
  const broker = createBroker({
    ...options,
    upgradeWebSocket,
    log,
    loadRedisTransport: loadNodeRedisTransport,
    // Frames written once per message and once per socket per turn (see fast-socket-session.ts).
    transport: fastTransport(standardTransport, (reason) => broker.context.log(reason)),
  });
  await joinClusterBeforeListening(broker);
  const servers: Server[] = [];
  const urls: string[] = [];
  try {
    for (const address of options.listen) {
      const { host, port } = splitListen(address);
      const server = createAdaptorServer({ fetch: withDebugHeap(headViaGet(broker.app.fetch)) }) as Server;
      answerClientErrors(server, broker.context.log);
      await listen(server, host, port, address);
      servers.push(server);
      urls.push(listeningUrl(host, (server.address() as AddressInfo).port));
    }
  } catch (error) {
    for (const server of servers) server.close();
    broker.close();
    throw error;
  }
  attachUpgrades(broker.app, servers, { maxPayload: options.maxMessageSize, log: broker.context.log });
  return {
    broker,
    urls,
    close: (deadlineMs = 4000) => shutdown(broker, servers, deadlineMs),
  };
}

function listen(server: Server, host: string | undefined, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE' ? 'address already in use'
        : error.code === 'EACCES' ? 'permission denied'
        : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' ? 'address not available on this machine'
        : error.message;
      reject(new ListenError(`cannot listen at ${address}: ${reason}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function shutdown(broker: Broker, servers: Server[], deadlineMs: number): Promise<void> {
  for (const server of servers) server.close();
  broker.close();
  for (const server of servers) server.closeIdleConnections();
  const deadline = Date.now() + deadlineMs;
  // Wait for the close handshakes, then cut whatever is left.
  while (broker.context.sessions.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  broker.context.sessions.terminateAll();
  for (const server of servers) server.closeAllConnections();
  await broker.engine?.close();
}
