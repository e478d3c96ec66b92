/**
 * Epochs for topic streams (see stamped.ts): a random prefix chosen when the process starts and
 * a counter, so an epoch is never reused within a process and, by the prefix, almost surely
 * never by another process or after a restart. Only `0-9a-z`, as ids require.
 */
const PREFIX = Array.from(crypto.getRandomValues(new Uint8Array(6)), (byte) => (byte % 36).toString(36)).join('');
let count = 0;

export function newEpoch(): string {
  return PREFIX + (count++).toString(36);
}
