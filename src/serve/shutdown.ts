/**
 * Shutdown of a standalone broker, the same on every runtime: stop accepting, close every socket
 * with 1001 and end SSE streams, wait for the close handshakes until the deadline, cut whatever
 * is left, stop the servers (waited for until the deadline too), then leave the cluster.
 */
import type { BoundServer } from './serve-runtime.ts';

/** What shutdown needs of the broker. */
export interface ClosingBroker {
  /** Closes every socket with 1001 and ends SSE streams. */
  close(): void;
  readonly context: { readonly sessions: { readonly size: number; terminateAll(): void | Promise<void> } };
  readonly engine?: { close(): Promise<void> } | undefined;
}

/** How often shutdown looks whether every session has gone. */
const POLL_MS = 20;

export async function shutdown(broker: ClosingBroker, servers: readonly BoundServer[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (const server of servers) server.stopAccepting?.();
  broker.close();
  for (const server of servers) server.drain?.();
  // Wait for the close handshakes, then cut whatever is left (a batch per task: sessions.ts).
  while (broker.context.sessions.size > 0 && Date.now() < deadline) await sleep(POLL_MS);
  await broker.context.sessions.terminateAll();
  await untilDeadline(Promise.all(servers.map((server) => server.close())), deadline);
  await broker.engine?.close();
}

/** Undoes the addresses bound so far when a later one fails: nothing may keep listening. */
export async function unbind(broker: Pick<ClosingBroker, 'close'>, servers: readonly BoundServer[]): Promise<void> {
  for (const server of servers) server.stopAccepting?.();
  await Promise.allSettled(servers.map((server) => server.close()));
  broker.close();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `work`, but not past `deadline` (and leaves no timer behind when it is done sooner). */
async function untilDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
  try {
    await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
