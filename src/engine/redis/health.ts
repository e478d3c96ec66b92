/**
 * The Redis engine's connection state and heartbeat: whether forwards and pushes may go to Redis
 * now, what `/healthz` says, and who waits to hear that the node has joined.
 *
 * Healthy means both connections are ready, the subscriber connection holds every channel local
 * receivers need, and the last heartbeat was answered in time. A Redis that stops answering
 * keeps its connections open, so only the heartbeat's timer notices it (a "stall"). A Redis that
 * refuses writes (past `maxmemory`, MISCONF, read-only) answers every read: its error replies to
 * the heartbeat (a write) or to a push tell it, and `/healthz` names the refusal until a
 * heartbeat passes again.
 */
import { redactRedisUrl } from './keys.ts';
import { writeRefusal } from './write-refusal.ts';

/** Heartbeat period. */
const HEARTBEAT_MS = 1000;
/** A heartbeat unanswered for this long means Redis hangs: the node reports itself unhealthy. */
const HEARTBEAT_TIMEOUT_MS = 3000;

export interface HealthInit {
  /** `redis://…`, named (without credentials) in logs and in `problem()`. */
  url: string;
  nodeHex: string;
  log(line: string): void;
  /** True once the subscriber connection has confirmed every channel wanted. */
  subscriptionsSettled(): boolean;
  /** Refreshes this node's alive key; resolves to whether the key still existed. */
  heartbeat(): Promise<boolean>;
  /** The node became healthy (first time or again). */
  onHealthy(): void;
  /** A stall is over: pushes may go to Redis again. */
  onStallCleared(): void;
  /** This node's alive key had expired (the process stalled): others may have dropped its pullers. */
  onAliveExpired(): void;
  /** A heartbeat went out: a moment to retry work that made no progress. */
  onBeat(): void;
}

export class RedisHealth {
  readonly #init: HealthInit;
  readonly #where: string;
  /** Command connection ready and set up (scripts loaded, pullers registered). */
  #commandUp = false;
  /** Command connection open, maybe still being set up. */
  #commandConnected = false;
  #subscriberUp = false;
  /** The last heartbeat got no answer in time (Redis hangs, or the link does). */
  #stalled = false;
  #heartbeatPending = false;
  /** Counts command connections: work begun on an earlier one must not touch state. */
  #epoch = 0;
  #everHealthy = false;
  #wasHealthy = false;
  #closed = false;
  #lastError: string | undefined;
  /** Why Redis refuses writes, from its last error reply; undefined while it takes them. */
  #writeRefusal: string | undefined;
  #connectWaiters: Array<() => void> = [];
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(init: HealthInit) {
    this.#init = init;
    this.#where = redactRedisUrl(init.url);
    this.#timer = setInterval(() => this.#beat(), HEARTBEAT_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Forwards and pushes may go to Redis. */
  get canSend(): boolean {
    return this.#commandUp && !this.#stalled;
  }

  /** The command connection is set up (a stalled one too: commands may still be answered). */
  get commandUp(): boolean {
    return this.#commandUp;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  healthy(): boolean {
    return this.#commandUp && this.#subscriberUp && this.#init.subscriptionsSettled() && !this.#stalled;
  }

  problem(): string | undefined {
    if (this.#closed) return 'redis: closed';
    if (!this.#commandUp || !this.#subscriberUp || this.#stalled) return `redis: ${this.#lastError ?? 'connecting'} (${this.#where})`;
    if (this.#writeRefusal !== undefined) return `redis: refuses writes: ${this.#writeRefusal} (${this.#where})`;
    if (!this.healthy()) return `redis: resubscribing (${this.#where})`;
    return undefined;
  }

  /** Redis answered a write with a refusal (OOM, MISCONF, READONLY): unhealthy until a heartbeat passes. */
  writesRefused(reason: string): void {
    if (this.#closed) return;
    if (this.#writeRefusal === undefined) this.#init.log(`redis: ${this.#where} refuses writes (${reason}); pushes are refused until it takes them again`);
    this.#writeRefusal = reason;
  }

  connected(timeoutMs: number): Promise<boolean> {
    if (this.healthy()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#connectWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Keeps the last error for `problem()` and the "lost" log line. */
  failed(message: string): void {
    this.#lastError = message;
  }

  /** The command connection is open: its setup begins, as a new epoch (returned). */
  commandOpened(): number {
    this.#commandConnected = true;
    return ++this.#epoch;
  }

  /** Whether work begun in `epoch` still belongs to the open command connection. */
  current(epoch: number): boolean {
    return epoch === this.#epoch && this.#commandConnected;
  }

  /** The setup of `epoch` is done; false if that connection is gone meanwhile. */
  commandSetUp(epoch: number): boolean {
    if (epoch !== this.#epoch) return false;
    this.#commandUp = true;
    return true;
  }

  commandLost(): void {
    this.#commandConnected = false;
    this.#commandUp = false;
    this.#stalled = false;
    this.#heartbeatPending = false;
    this.#epoch++;
  }

  subscriberUp(): void {
    this.#subscriberUp = true;
  }

  /** Returns false if the subscriber connection was not up (nothing changed). */
  subscriberLost(): boolean {
    if (!this.#subscriberUp) return false;
    this.#subscriberUp = false;
    return true;
  }

  /** Stops the heartbeat; from now on the engine reports itself closed and logs no loss. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#commandUp = false;
    this.#subscriberUp = false;
  }

  /** Logs a change of health; on becoming healthy, wakes whoever waits for it. */
  update(): void {
    const healthy = this.healthy();
    if (healthy === this.#wasHealthy) return;
    this.#wasHealthy = healthy;
    if (healthy) {
      this.#init.log(`redis: ${this.#everHealthy ? 'reconnected to' : 'connected to'} ${this.#where} as node ${this.#init.nodeHex}`);
      this.#everHealthy = true;
      this.#init.onHealthy();
      const waiters = this.#connectWaiters;
      this.#connectWaiters = [];
      for (const wake of waiters) wake();
    } else if (!this.#closed) {
      this.#init.log(`redis: lost ${this.#where} (${this.#lastError ?? 'disconnected'}); serving local clients, reconnecting`);
    }
  }

  #beat(): void {
    if (!this.#commandUp || this.#closed || this.#heartbeatPending) return;
    const epoch = this.#epoch;
    this.#heartbeatPending = true;
    const timer = setTimeout(() => {
      if (epoch !== this.#epoch || this.#stalled) return;
      this.#lastError = `no answer to the heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`;
      this.#stalled = true;
      this.update();
    }, HEARTBEAT_TIMEOUT_MS);
    const answered = () => {
      clearTimeout(timer);
      this.#heartbeatPending = false;
    };
    this.#init.heartbeat().then(
      (existed) => {
        answered();
        if (epoch !== this.#epoch) return;
        if (this.#writeRefusal !== undefined) {
          this.#writeRefusal = undefined;
          this.#init.log(`redis: ${this.#where} takes writes again`);
        }
        if (this.#stalled) {
          this.#stalled = false;
          this.#init.onStallCleared();
          this.update();
        }
        if (!existed) this.#init.onAliveExpired();
      },
      (error: unknown) => {
        answered();
        const refusal = writeRefusal(error);
        if (refusal !== undefined && epoch === this.#epoch) this.writesRefused(refusal);
      },
    );
    this.#init.onBeat();
  }
}
