/**
 * The broker's counters: live things (back to 0 when every client is gone) and running totals.
 * Plain numbers on one object so the hot path pays an increment, nothing more.
 */
export class Counters {
  connections = 0;
  subscribers = 0;
  publishers = 0;
  peers = 0;
  pushers = 0;
  pullers = 0;
  messagesIn = 0;
  messagesOut = 0;
  slowConsumerDisconnects = 0;
  /** Requests refused before upgrade (bad topic, origin, limits). */
  refused = 0;
  /** Messages a cluster engine could not forward to other nodes. */
  forwardFailures = 0;
  /**
   * Refusals for bytes decided outside the core's budget (which counts its own): pushes past
   * their topic's `pushQueueBytes`, and in cluster mode pushes Redis refused for either cap.
   */
  budgetRefusals = 0;
  readonly startedAt: number = Date.now();
}

/** The JSON body of `/stats` (PROTOCOL.md), plus a few extra totals. */
export interface BrokerStats {
  connections: number;
  subscribers: number;
  publishers: number;
  peers: number;
  pushers: number;
  pullers: number;
  topics: number;
  queued: number;
  messagesIn: number;
  messagesOut: number;
  slowConsumerDisconnects: number;
  uptimeSeconds: number;
  refused: number;
  forwardFailures: number;
  /** Bytes held for clients now (queued pushes, POST bodies being read), out of `maxHeldBytes`. */
  heldBytes: number;
  /** Pushes and bodies refused for bytes (`pushQueueBytes`, `maxHeldBytes`). */
  budgetRefusals: number;
  /** Topics whose history holds a message (0 without history, and in cluster mode: it is in Redis). */
  historyTopics: number;
  /** Messages history holds. */
  historyMessages: number;
  /** Bytes history holds (payloads and bookkeeping), within `historyMaxBytes`. */
  historyBytes: number;
}
