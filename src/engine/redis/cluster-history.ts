/**
 * The Redis engine's history (`historySize` > 0; the keys and scripts are in history-scripts.ts).
 * Every publish is relayed: it goes to Redis in the node's batch of the turn, gets its position
 * in the stream of its topic and of each ancestor there, and comes back to every node, this one
 * included, on each of those topics' channels (inbound.ts), so that every subscriber anywhere
 * sees a stream in the order of its ids and can resume on any node. Local subscribers therefore
 * wait one Redis round trip.
 *
 * While a relayed message might not come back (Redis down, a connection of this node's down or
 * resubscribing, too much in flight) it is not relayed: the core delivers it locally with ids of
 * this node's own (another epoch, so a resume from one of them hears of the gap) and forwards it
 * as a plain publish, at most once, or counts it in `forwardFailures` when Redis cannot take it.
 * Redis's streams of those topics then lack a message while their offsets run on without a hole
 * (Redis may have kept its data all along: frozen, or a connection of this node's cut), so before
 * this node relays again it has Redis forget them (`forgetHistory`): the next publish starts a
 * new epoch, and a subscriber resuming across the outage hears of a gap (`epoch`) instead of
 * reading on as if nothing was missed.
 */
import type { BrokerMessage } from '../../message.ts';
import { formatStreamId, parseStreamId, StampedMessage, type StreamPosition } from '../../stamped.ts';
import { RELAYED, type Publication, type Recovery } from '../../core/engine.ts';
import { decodeEnvelope } from '../envelope.ts';
import { ForwardBatch } from './forward-batch.ts';
import type { Outbound } from './outbound.ts';
import type { RedisNames } from './keys.ts';
import type { ScriptRunner } from './script-runner.ts';

/** A quiet topic's position is kept this much longer than its messages (see history-scripts.ts). */
const META_EXTRA_MS = 3600_000;
/** Streams forgotten per script call (one call's arguments stay small). */
const FORGET_CHUNK = 1000;
/** Past this many streams to forget, the node forgets every stream instead of keeping a list. */
const MAX_UNRECORDED = 100_000;

export interface ClusterHistoryInit {
  names: RedisNames;
  /** `historySize`, `historyTtl` in ms. */
  size: number;
  ttlMs: number;
  scripts: ScriptRunner;
  outbound: Outbound;
  ancestorsOf(topic: string): readonly string[];
  failed(count: number): void;
  /** Waits (bounded) until this node's subscription to the topic's channel is confirmed. */
  subscribed(topic: string): Promise<unknown> | undefined;
  canRead(): boolean;
  /**
   * Whether a relayed publish will come back to this node too: both connections up and every
   * channel it wants subscribed. Otherwise its own subscribers could miss what Redis took.
   */
  canRelay(): boolean;
  closing(): boolean;
}

export class ClusterHistory {
  readonly #init: ClusterHistoryInit;
  readonly #batch: ForwardBatch;
  /** Streams this node published to outside Redis since it last had Redis forget them. */
  #unrecorded = new Set<string>();
  /** More than MAX_UNRECORDED of them: every stream is to be forgotten. */
  #unrecordedAll = false;

  constructor(init: ClusterHistoryInit) {
    this.#init = init;
    const head = [init.names.prefix, String(init.size), String(init.ttlMs), String(init.ttlMs + META_EXTRA_MS)];
    this.#batch = new ForwardBatch({
      send: (args) => init.scripts.run('publishHistory', [], [...head, epochSeed(), ...args]),
      sending: (bytes) => init.outbound.sending(bytes),
      settled: (bytes) => init.outbound.settled(bytes),
      failed: init.failed,
    });
  }

  /** Engine.stamp: relays the publish, or leaves it to the core when Redis cannot take it now. */
  stamp(topic: string, message: BrokerMessage): Publication {
    const streams = this.#init.ancestorsOf(topic);
    if (this.#init.closing() || !this.#init.canRelay() || !this.#init.outbound.ready()) {
      this.#markUnrecorded(streams);
      return undefined;
    }
    // Sent before this turn's batch, on the same connection: Redis forgets first.
    if (this.#unrecorded.size > 0 || this.#unrecordedAll) this.#forgetUnrecorded();
    this.#batch.add(streams, this.#init.outbound.pack(topic, message)!);
    return RELAYED;
  }

  #markUnrecorded(streams: readonly string[]): void {
    if (this.#unrecordedAll) return;
    for (const stream of streams) this.#unrecorded.add(stream);
    if (this.#unrecorded.size > MAX_UNRECORDED) {
      this.#unrecordedAll = true;
      this.#unrecorded = new Set();
    }
  }

  /** Has Redis forget the streams published to outside it (see above); kept to retry if it fails. */
  #forgetUnrecorded(): void {
    const { scripts, names } = this.#init;
    if (this.#unrecordedAll) {
      this.#unrecordedAll = false;
      scripts.run('forgetAllHistory', [], [names.prefix]).catch(() => (this.#unrecordedAll = true));
      return;
    }
    const topics = [...this.#unrecorded];
    this.#unrecorded = new Set();
    for (let i = 0; i < topics.length; i += FORGET_CHUNK) {
      const chunk = topics.slice(i, i + FORGET_CHUNK);
      scripts.run('forgetHistory', [], [names.prefix, ...chunk]).catch(() => this.#markUnrecorded(chunk));
    }
  }

  /** Engine.recover, from the topic's stream in Redis. */
  async recover(topic: string, since: string | undefined): Promise<Recovery> {
    if (since === undefined) return { entries: [], position: await this.#position(topic) };
    const position = parseStreamId(since);
    if (!position) return { entries: [], gap: { topic, since, reason: 'epoch' } };
    // What the stream gets after the read below must reach the subscriber live.
    await this.#init.subscribed(topic);
    if (!this.#init.canRead()) return { entries: [], gap: { topic, since, reason: 'unavailable' } };
    let reply: unknown;
    try {
      const keys = [this.#init.names.historyMeta(topic), this.#init.names.historyStream(topic)];
      reply = await this.#init.scripts.run('recover', keys, [position.epoch, String(position.offset), String(this.#init.ttlMs)], true);
    } catch {
      return { entries: [], gap: { topic, since, reason: 'unavailable' } };
    }
    return recovery(topic, since, position, reply as unknown[]);
  }

  /**
   * The last position of the topic's stream in Redis (an epoch made for it if it has none), read
   * once this node hears the topic's channel, so that every later publish reaches the subscriber
   * live; undefined when Redis cannot be read (the core then counts on its own).
   */
  async #position(topic: string): Promise<StreamPosition | undefined> {
    await this.#init.subscribed(topic);
    if (!this.#init.canRead()) return undefined;
    try {
      const keys = [this.#init.names.historyMeta(topic), this.#init.names.historyStream(topic)];
      const reply = (await this.#init.scripts.run('position', keys, [epochSeed(), String(this.#init.ttlMs + META_EXTRA_MS)], true)) as unknown[];
      return { epoch: text(reply[0]), offset: Number(text(reply[1])) };
    } catch {
      return undefined;
    }
  }
}

const decoder = new TextDecoder();

/** A bulk string of a binary reply as text. */
function text(value: unknown): string {
  return value instanceof Uint8Array ? decoder.decode(value) : String(value);
}

/** The `recover` script's answer as a Recovery (see history-scripts.ts for its shape). */
export function recovery(topic: string, since: string, position: { epoch: string; offset: number }, reply: unknown[]): Recovery {
  const epoch = text(reply[0]);
  const last = Number(reply[1] ?? 0);
  const entries: StampedMessage[] = [];
  for (let i = 2; i + 2 < reply.length; i += 3) {
    const payload = reply[i + 2];
    const envelope = decodeEnvelope(payload instanceof Uint8Array ? payload : new TextEncoder().encode(String(payload)));
    if (!envelope) continue;
    entries.push(new StampedMessage(envelope.message, envelope.topic, epoch, Number(text(reply[i])), Number(text(reply[i + 1]))));
  }
  const lostThrough = (entries[0]?.offset ?? last + 1) - 1;
  const until = lostThrough > 0 ? formatStreamId(epoch, lostThrough) : undefined;
  if (epoch === '' || epoch !== position.epoch || position.offset > last) {
    // Another epoch: how much was lost is unknown; what this epoch still holds is replayed.
    return { entries, gap: { topic, since, reason: 'epoch', ...(until && { until }) } };
  }
  const missed = lostThrough - position.offset;
  return missed > 0 ? { entries, gap: { topic, since, reason: 'trimmed', missed, until: until! } } : { entries };
}

/** A fresh random prefix for the epochs one batch may start (`0-9a-z`, as ids require). */
function epochSeed(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(7)), (byte) => (byte % 36).toString(36)).join('');
}
