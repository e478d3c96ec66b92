/**
 * Push/pull across the cluster (the scripts in `lua-scripts.ts` hold the shared round robin and
 * queue): this node's pullers registered in Redis under ids `NODE/N`, pushes handed to Redis,
 * pushes Redis routes to this node handed to the right local puller, and the node's part in
 * draining a shared queue.
 *
 * While Redis cannot take pushes they go to the core's local push/pull (local pullers, else the
 * local queue); the moment Redis can again, what queued locally moves to the shared queue,
 * oldest first, before any new push can overtake it.
 *
 * A client's push is answered within a bounded time and definitely (`push-answers.ts`): too late
 * for Redis, it is refused and will not run; refused because Redis refuses writes, it has done
 * nothing (the scripts write before they publish) and `/healthz` says why.
 */
import type { EngineEvents } from '../../core/engine.ts';
import type { PushResult } from '../../core/push-pull.ts';
import type { BrokerMessage } from '../../message.ts';
import type { Receiver } from '../../receiver.ts';
import { decodeEnvelope } from '../envelope.ts';
import type { RedisNames } from './keys.ts';
import { PUSH_REPLY, pushTopicKeys } from './lua-scripts.ts';
import type { Outbound } from './outbound.ts';
import type { PushAnswers } from './push-answers.ts';
import { writeRefusal } from './write-refusal.ts';
import type { ScriptRunner } from './script-runner.ts';

/** Waiting messages one script call moves to pullers. */
const DRAIN_BATCH = 256;

export interface ClusterPushPullInit {
  nodeHex: string;
  names: RedisNames;
  /** The bounds of each shared queue (messages, bytes) and of all of them (bytes). */
  limits: { pushQueueLimit: number; pushQueueBytes: number; maxHeldBytes: number };
  scripts: ScriptRunner;
  outbound: Outbound;
  /** Bounds the wait for a client's push and sets its deadline. */
  answers: PushAnswers;
  events: Pick<EngineEvents, 'deliverToPuller' | 'pushLocally' | 'takeLocalQueue' | 'forwardFailed' | 'refusedForBytes'>;
  /** Redis refused a write (OOM, MISCONF, READONLY): `/healthz` must say so. */
  writesRefused(reason: string): void;
  /** Whether scripts may run now (a stalled connection counts: its answers may still come). */
  commandUp(): boolean;
  /** Whether pushes may go to Redis now (set up and not stalled). */
  canSend(): boolean;
  closing(): boolean;
  log(line: string): void;
}

/** The push script's reply codes as results. */
const PUSH_RESULTS: Record<number, PushResult> = {
  [PUSH_REPLY.full]: 'full',
  [PUSH_REPLY.delivered]: 'delivered',
  [PUSH_REPLY.queued]: 'queued',
  [PUSH_REPLY.fullBytes]: 'full-bytes',
  [PUSH_REPLY.overBudget]: 'over-budget',
  [PUSH_REPLY.late]: 'timeout',
};

export class ClusterPushPull {
  readonly #init: ClusterPushPullInit;
  /** The push script's limit arguments: messages, bytes per queue, bytes in all queues. */
  readonly #limits: [string, string, string];
  #pullerCounter = 0;
  readonly #pullerById = new Map<string, { topic: string; receiver: Receiver }>();
  readonly #pullersByTopic = new Map<string, Map<Receiver, string>>();
  /** Withdrawals that could not reach Redis yet. */
  readonly #pendingLeaves = new Map<string, Set<string>>();
  /** Push topics whose shared queue still holds messages this node's pullers could take. */
  readonly #needsDrain = new Set<string>();

  constructor(init: ClusterPushPullInit) {
    this.#init = init;
    const { pushQueueLimit, pushQueueBytes, maxHeldBytes } = init.limits;
    this.#limits = [String(pushQueueLimit), String(pushQueueBytes), String(maxHeldBytes)];
  }

  pullerAdded(topic: string, puller: Receiver): void {
    if (this.#init.closing()) return;
    const id = `${this.#init.nodeHex}/${++this.#pullerCounter}`;
    this.#pullerById.set(id, { topic, receiver: puller });
    let pullers = this.#pullersByTopic.get(topic);
    if (!pullers) this.#pullersByTopic.set(topic, (pullers = new Map()));
    pullers.set(puller, id);
    if (this.#init.commandUp()) void this.#join(topic, [id]);
  }

  pullerRemoved(topic: string, puller: Receiver): void {
    const pullers = this.#pullersByTopic.get(topic);
    const id = pullers?.get(puller);
    if (!pullers || id === undefined) return;
    pullers.delete(puller);
    if (pullers.size === 0) {
      this.#pullersByTopic.delete(topic);
      this.#needsDrain.delete(topic);
    }
    this.#pullerById.delete(id);
    if (this.#init.closing()) return;
    if (this.#init.commandUp()) void this.#leave(topic, id);
    else this.#rememberLeave(topic, id);
  }

  push(topic: string, message: BrokerMessage): PushResult | Promise<PushResult> {
    if (!this.#init.canSend()) return this.#init.events.pushLocally(topic, message);
    const payload = this.#init.outbound.pack(topic, message);
    if (!payload) return 'unavailable';
    // A client waits for this answer: bounded, and a push answered `timeout` never runs.
    return this.#init.answers.send((deadline) => this.#pushPayload(topic, payload, deadline));
  }

  /**
   * After every (re)connect of the command connection: the withdrawals that could not be sent
   * go now, and every local puller is registered (again: a restarted Redis has forgotten them).
   */
  reregister(): Promise<unknown> {
    const pending: Array<Promise<unknown>> = [];
    for (const [topic, ids] of this.#pendingLeaves) {
      for (const id of ids) pending.push(this.#leave(topic, id));
    }
    this.#pendingLeaves.clear();
    for (const topic of this.#pullersByTopic.keys()) pending.push(this.#join(topic));
    return Promise.all(pending);
  }

  /** Registers every local puller again (this node's alive key had expired). */
  rejoin(): void {
    for (const topic of this.#pullersByTopic.keys()) void this.#join(topic);
  }

  /** Lets every local puller take what waits in its topic's shared queue. */
  drainAll(): void {
    for (const topic of this.#pullersByTopic.keys()) this.#drain(topic);
  }

  /** Retries the drains that made no progress (called once per heartbeat). */
  drainWaiting(): void {
    for (const topic of this.#needsDrain) this.#drain(topic);
  }

  /** Pushes that queued here while Redis was away go to the shared queue, oldest first. */
  moveLocalQueue(): void {
    for (const [topic, messages] of this.#init.events.takeLocalQueue()) {
      for (const message of messages) {
        void this.#pushToRedis(topic, message).then((result) => {
          if (result === 'delivered' || result === 'queued') return;
          this.#init.events.forwardFailed(1);
          this.#init.log(`redis: a push to ${JSON.stringify(topic)} queued during the outage was lost (${result})`);
        });
      }
    }
  }

  /** Withdraws every local puller (a clean shutdown). */
  leaveAll(): Array<Promise<unknown>> {
    const leaving: Array<Promise<unknown>> = [];
    for (const [topic, pullers] of this.#pullersByTopic) {
      for (const id of pullers.values()) leaving.push(this.#leave(topic, id));
    }
    return leaving;
  }

  /** A push message Redis routed to one of this node's pullers: `PULLER-ID \n envelope`. */
  routed(payload: Uint8Array): void {
    const newline = payload.indexOf(10);
    if (newline <= 0) return;
    const id = String.fromCharCode(...payload.subarray(0, newline));
    const bytes = payload.subarray(newline + 1);
    const envelope = decodeEnvelope(bytes);
    if (!envelope) return;
    const { deliverToPuller, forwardFailed } = this.#init.events;
    const target = this.#pullerById.get(id);
    if (target && deliverToPuller(target.receiver, envelope.topic, envelope.message)) return;
    // The puller left (or was dropped as slow) while the message travelled: another local
    // puller of the topic takes it, or it goes back to the cluster.
    for (const receiver of this.#pullersByTopic.get(envelope.topic)?.keys() ?? []) {
      if (deliverToPuller(receiver, envelope.topic, envelope.message)) return;
    }
    if (!this.#init.commandUp()) {
      forwardFailed(1);
      return;
    }
    void this.#pushPayload(envelope.topic, bytes.slice(), 0).then((result) => {
      if (result === 'delivered' || result === 'queued') return;
      forwardFailed(1);
      this.#init.log(`redis: a push to ${JSON.stringify(envelope.topic)} whose puller left could not be requeued (${result})`);
    });
  }

  /** A push no client waits for (moved from the local queue, requeued): no deadline. */
  #pushToRedis(topic: string, message: BrokerMessage): Promise<PushResult> {
    const payload = this.#init.outbound.pack(topic, message);
    if (!payload) return Promise.resolve('unavailable');
    return this.#pushPayload(topic, payload, 0);
  }

  /** Runs the push script; `deadline` on Redis's clock, 0 for none. Never rejects. */
  #pushPayload(topic: string, payload: Uint8Array, deadline: number): Promise<PushResult> {
    const { names, scripts, outbound, events } = this.#init;
    const [limit, bytesLimit, heldLimit] = this.#limits;
    outbound.sending(payload.byteLength);
    const args = [names.prefix, limit, payload, String(DRAIN_BATCH), bytesLimit, heldLimit, String(Math.floor(deadline))];
    return scripts.run('push', pushTopicKeys(names, topic), args).then(
      (code): PushResult => {
        outbound.settled(payload.byteLength);
        const result = PUSH_RESULTS[Number(code)] ?? 'unavailable';
        if (result === 'full-bytes' || result === 'over-budget') events.refusedForBytes();
        return result;
      },
      (error: unknown): PushResult => {
        outbound.settled(payload.byteLength);
        events.forwardFailed(1);
        const refusal = writeRefusal(error);
        if (refusal) this.#init.writesRefused(refusal);
        return 'unavailable';
      },
    );
  }

  #rememberLeave(topic: string, id: string): void {
    let ids = this.#pendingLeaves.get(topic);
    if (!ids) this.#pendingLeaves.set(topic, (ids = new Set()));
    ids.add(id);
  }

  #join(topic: string, ids?: string[]): Promise<unknown> {
    const all = ids ?? [...(this.#pullersByTopic.get(topic)?.values() ?? [])];
    if (all.length === 0) return Promise.resolve();
    const { names, scripts } = this.#init;
    return scripts.run('join', pushTopicKeys(names, topic), [names.prefix, String(DRAIN_BATCH), ...all]).then(
      (reply) => this.#afterDrain(topic, reply),
      () => {
        // Re-registered on the next reconnect.
      },
    );
  }

  #leave(topic: string, id: string): Promise<unknown> {
    const [pullers, cursor] = pushTopicKeys(this.#init.names, topic);
    return this.#init.scripts.run('leave', [pullers, cursor], [id]).catch(() => this.#rememberLeave(topic, id));
  }

  #drain(topic: string): void {
    if (!this.#init.commandUp() || !this.#pullersByTopic.has(topic)) return;
    this.#needsDrain.delete(topic);
    const { names, scripts } = this.#init;
    scripts.run('drain', pushTopicKeys(names, topic), [names.prefix, String(DRAIN_BATCH)]).then(
      (reply) => this.#afterDrain(topic, reply),
      () => this.#needsDrain.add(topic),
    );
  }

  /** `{moved, waiting}` from a join or drain: keep going while it makes progress. */
  #afterDrain(topic: string, reply: unknown): void {
    const [moved, waiting] = (reply as [number, number] | undefined) ?? [0, 0];
    if (waiting === 0 || !this.#pullersByTopic.has(topic)) return;
    if (moved > 0) this.#drain(topic);
    else this.#needsDrain.add(topic);
  }
}
