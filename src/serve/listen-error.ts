/**
 * An address that cannot be listened on, as one line for the user (the CLI prints it and exits
 * 1). Node, Bun and Deno all tag their socket errors with the same POSIX `code`, so one table
 * serves every runtime.
 */

/** Thrown by `serveOnRuntime` when an address cannot be listened on (exit 1). */
export class ListenError extends Error {
  override name = 'ListenError';
}

const REASON_BY_CODE: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
  // A host name that does not resolve: no address of this machine either.
  ENOTFOUND: 'address not available on this machine',
};

/** `cannot listen at ADDRESS: REASON`, the reason read off the runtime's error code. */
export function listenError(address: string, error: unknown): ListenError {
  const reason = REASON_BY_CODE[errorCode(error) ?? ''] ?? (error instanceof Error ? error.message : String(error));
  return new ListenError(`cannot listen at ${address}: ${reason}`);
}

/** The runtime's error code (`EADDRINUSE`, ...), if the error has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
