/**
 * One listen address bound through the runtime's `listen`: `*` as every interface, and any
 * failure as the one-line `ListenError` the CLI prints.
 */
import { errorCode, listenError } from './listen-error.ts';
import { listeningUrl, splitListen } from './listen-address.ts';
import type { BoundServer, TlsMaterial } from './serve-runtime.ts';

export interface BindRuntime {
  listen(host: string, port: number, tls?: TlsMaterial): BoundServer | Promise<BoundServer>;
  isForeignError?(error: unknown): boolean;
}

/**
 * Binds `address` (`http://HOST:PORT`, or `https://…` with `tls`, its certificate and key read);
 * resolves with the server and its printed URL.
 */
export async function bindAddress(runtime: BindRuntime, address: string, tls?: TlsMaterial): Promise<{ server: BoundServer; url: string }> {
  const { scheme, host, port } = splitListen(address);
  try {
    const server = host !== undefined ? await runtime.listen(host, port, tls) : await listenEverywhere(runtime, port, tls);
    return { server, url: listeningUrl(host, server.port, scheme) };
  } catch (error) {
    if (runtime.isForeignError?.(error)) throw error;
    throw listenError(address, error);
  }
}

/**
 * `*`: every interface, IPv6 and IPv4 alike, as Node's default listen does; IPv4 alone where the
 * machine has no IPv6. A port in use is in use on both: no second try.
 */
async function listenEverywhere(runtime: BindRuntime, port: number, tls: TlsMaterial | undefined): Promise<BoundServer> {
  try {
    return await runtime.listen('::', port, tls);
  } catch (error) {
    if (errorCode(error) === 'EADDRINUSE' || runtime.isForeignError?.(error)) throw error;
    return runtime.listen('0.0.0.0', port, tls);
  }
}
