/**
 * The standalone broker's lifecycle, once for every runtime: resolve the options, create the
 * broker with the runtime's pieces, join the cluster, listen on every address (`bind-address.ts`)
 * and, on `close`, shut down within a deadline (`shutdown.ts`). A runtime adapter
 * (`src/adapters/<runtime>/serve.ts`) supplies only what differs: its upgrade helper and how to
 * bind and stop one server (`serve-runtime.ts`).
 */
import { createBroker, type Broker, type CreateBrokerInit } from '../app/create-broker.ts';
import { defaultLog } from '../app/context.ts';
import { joinClusterBeforeListening } from '../engine/join-cluster.ts';
import { resolveOptions, type BrokerOptionsInput } from '../options.ts';
import { bindAddress } from './bind-address.ts';
import type { BoundServer, ServeRuntimeFor, TlsMaterial } from './serve-runtime.ts';
import { shutdown, unbind } from './shutdown.ts';
import { readTlsFiles } from './tls-files.ts';

/** What a runtime's server looks like to the CLI. */
export interface ServingBroker {
  /** The real addresses, port 0 replaced by the port the system picked: `http(s)://HOST:PORT`. */
  readonly urls: readonly string[];
  /** Stops accepting, closes every socket with 1001; resolves when all is closed or at the deadline. */
  close(deadlineMs: number): Promise<void>;
}

/** A started standalone broker. */
export interface RunningBroker extends ServingBroker {
  readonly broker: Broker;
  /** As `ServingBroker.close`; the deadline defaults to 4 s (PROTOCOL.md allows 5 s in all). */
  close(deadlineMs?: number): Promise<void>;
}

export interface ServeInput extends BrokerOptionsInput, Partial<Pick<CreateBrokerInit, 'log'>> {}

const DEFAULT_CLOSE_DEADLINE_MS = 4000;

/** Starts the broker on every `listen` address. Rejects with a `ListenError` (e.g. port in use). */
export async function serveOnRuntime(input: ServeInput, runtimeFor: ServeRuntimeFor): Promise<RunningBroker> {
  const { log = defaultLog, ...optionInput } = input;
  const options = resolveOptions(optionInput);
  const runtime = runtimeFor(options, log);
  const tls = await readTlsFiles(options.listen, runtime);
  // The addresses are this lifecycle's to bind; the broker itself never listens.
  const { listen: _addresses, ...brokerOptions } = options;
  const broker = createBroker({
    ...brokerOptions,
    upgradeWebSocket: runtime.upgradeWebSocket,
    transport: runtime.transport,
    loadRedisTransport: runtime.loadRedisTransport,
    debugHeap: runtime.debugHeap,
    peerAddress: runtime.peerAddress,
    readTextFile: runtime.readTextFile && ((path) => runtime.readTextFile!(path)),
    clientGoneSignal: runtime.clientGoneSignal,
    log,
  });
  try {
    // Key files and keys are checked now, so a bad one stops the start (the CLI's exit 2).
    await broker.context.auth?.ready(runtime.isForeignError);
  } catch (error) {
    broker.close();
    throw error;
  }
  runtime.brokerCreated?.(broker);
  await joinClusterBeforeListening(broker);

  const binding = {
    listen: (host: string, port: number, material?: TlsMaterial) => runtime.listen(broker, host, port, material),
    isForeignError: runtime.isForeignError,
  };
  const servers: BoundServer[] = [];
  const urls: string[] = [];
  try {
    for (const address of options.listen) {
      const { server, url } = await bindAddress(binding, address, tls.get(address));
      servers.push(server);
      urls.push(url);
    }
  } catch (error) {
    await unbind(broker, servers);
    throw error;
  }
  runtime.listening?.(broker);
  return {
    broker,
    urls,
    close: (deadlineMs = DEFAULT_CLOSE_DEADLINE_MS) => shutdown(broker, servers, deadlineMs),
  };
}
