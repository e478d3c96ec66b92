/**
 * Tells a Redis that refuses writes from one that failed otherwise. A Redis past `maxmemory`
 * (OOM), one that cannot save its snapshot (MISCONF), a read-only replica (READONLY) or one short
 * of replicas (NOREPLICAS) stays connected and answers every read: only its error replies say it
 * takes nothing, so `/healthz` must learn it from them (a push refused so, a heartbeat).
 */
const WRITE_REFUSAL = /(?:^|[\s-])(OOM|MISCONF|READONLY|NOREPLICAS)\s/;

/** The error's first line when it is a refusal to write; undefined for any other failure. */
export function writeRefusal(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined;
  if (message === undefined || !WRITE_REFUSAL.test(message)) return undefined;
  // Keep the reason, not the script location Redis appends ("script: SHA, on @user_script:…").
  return message.split('\n')[0]!.replace(/\s+script: \w+, on @user_script:\S*$/, '').trim();
}
