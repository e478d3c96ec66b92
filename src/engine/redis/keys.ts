/**
 * Every Redis key and channel the cluster engine uses, in one place (the README's key table
 * follows this file). Names start with `bh:DB:`: keys are per database already, but Redis
 * pub/sub channels are not, so the database number in the prefix keeps two clusters on one
 * Redis (`redis://host:6379/1` and `/2`) from hearing each other.
 */
export interface RedisNames {
  readonly prefix: string;
  /** Pub/sub channel for subscribers of exactly `topic` (a publish goes to each ancestor's). */
  subChannel(topic: string): string;
  /** Pub/sub channel for bus peers of `topic`. */
  busChannel(topic: string): string;
  /** Pub/sub channel on which one node receives push messages routed to its pullers. */
  nodeChannel(nodeHex: string): string;
  /** Exists while the node is alive (its heartbeat refreshes the expiry). */
  aliveKey(nodeHex: string): string;
  /** List of puller ids (`NODE/N`) of a push topic, in the order they joined. */
  pullers(topic: string): string;
  /** The push topic's round-robin cursor (an index into `pullers`). */
  cursor(topic: string): string;
  /** Messages waiting while no puller is reachable anywhere. */
  queue(topic: string): string;
  /** Bytes of the messages in `queue(topic)` (what `pushQueueBytes` bounds); gone with the queue. */
  queueBytes(topic: string): string;
  /** Bytes held in every push queue of the cluster, bookkeeping included (what `maxHeldBytes` bounds). */
  readonly heldBytes: string;
  /** History: the stream of `topic` (history-scripts.ts; the scripts name it from the prefix too). */
  historyStream(topic: string): string;
  /** History: the epoch and last offset of `topic`'s stream. */
  historyMeta(topic: string): string;
}

/** The kind letter right after the prefix tells the three channel families apart cheaply. */
export const CHANNEL_KIND = { sub: 's'.charCodeAt(0), bus: 'b'.charCodeAt(0), node: 'n'.charCodeAt(0) } as const;

export function redisNames(database: number): RedisNames {
  const prefix = `bh:${database}:`;
  return {
    prefix,
    subChannel: (topic) => `${prefix}sub:${topic}`,
    busChannel: (topic) => `${prefix}bus:${topic}`,
    nodeChannel: (nodeHex) => `${prefix}node:${nodeHex}`,
    aliveKey: (nodeHex) => `${prefix}alive:${nodeHex}`,
    pullers: (topic) => `${prefix}pullers:${topic}`,
    cursor: (topic) => `${prefix}cursor:${topic}`,
    queue: (topic) => `${prefix}queue:${topic}`,
    queueBytes: (topic) => `${prefix}qbytes:${topic}`,
    heldBytes: `${prefix}held`,
    historyStream: (topic) => `${prefix}hist:${topic}`,
    historyMeta: (topic) => `${prefix}hmeta:${topic}`,
  };
}

/** The database number of a `redis://HOST:PORT/DB` URL (0 when absent). */
export function redisDatabase(url: string): number {
  try {
    const path = new URL(url).pathname.replace(/^\//, '');
    const database = path === '' ? 0 : Number(path);
    return Number.isInteger(database) && database >= 0 ? database : 0;
  } catch {
    return 0;
  }
}

/** `redis://user:secret@host:6379/0` → `redis://host:6379/0`, for logs and health answers. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}
