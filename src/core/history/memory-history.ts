/**
 * The memory engine's history (`historySize` > 0): for every topic that messages were published
 * under, its stream (topic-stream.ts) with the last `historySize` messages published to it or to
 * a descendant, none older than `historyTtl`, all together within a byte budget.
 *
 * A publish on `a/b/c` is kept once (its payload is shared) and appears in the streams of
 * `a/b/c`, `a/b` and `a`, each at its own offset. All publishes are also chained oldest first
 * (one record per publish): expiry and the memory cap take the oldest record away, from every
 * stream at once. The oldest record is always the oldest message of each stream that still holds
 * it, so every stream keeps its newest offsets without a hole, which is what lets `recover` say
 * exactly how many messages a subscriber missed.
 */
import { formatStreamId, parseStreamId, StampedMessage, type StreamPosition } from '../../stamped.ts';
import type { BrokerMessage } from '../../message.ts';
import type { ByteBudget } from '../byte-budget.ts';
import type { HistoryStats, Recovery } from '../engine.ts';
import { newEpoch } from '../epochs.ts';
import { TopicStream } from './topic-stream.ts';

export interface HistoryLimits {
  /** Messages each stream keeps (at least 1). */
  size: number;
  /** How long a message is kept, in ms. */
  ttlMs: number;
  /** Where every byte held is reserved (capped-budget.ts); refused, the oldest messages go first. */
  budget: ByteBudget;
}

/** The history options as the memory engine takes them (it builds the budget). */
export interface HistoryOptions {
  size: number;
  ttlMs: number;
  /** `historyMaxBytes`: history's share of the broker's byte budget. */
  maxBytes: number;
}

/** What one publish costs besides its payload and topic (the record, its arrays). */
const RECORD_BYTES = 96;
/** What each stream position of a publish costs (a StampedMessage and two array slots). */
const STAMP_BYTES = 72;
/**
 * Streams that hold nothing any more are remembered, this many at most (oldest forgotten first),
 * so a subscriber of a quiet topic that resumes learns that it missed nothing (or exactly what
 * expired) instead of hearing of a new epoch. About 150 bytes each, outside the budget.
 */
const IDLE_STREAMS = 10_000;

interface HistoryRecord {
  readonly streams: TopicStream<HistoryRecord>[];
  readonly stamps: StampedMessage[];
  readonly time: number;
  readonly bytes: number;
  /** Streams still holding it. */
  refs: number;
  older: HistoryRecord | undefined;
  newer: HistoryRecord | undefined;
}

export class MemoryHistory {
  readonly #limits: HistoryLimits;
  readonly #streams = new Map<string, TopicStream<HistoryRecord>>();
  /** Streams that hold nothing, in the order they emptied. */
  readonly #idle = new Map<string, TopicStream<HistoryRecord>>();
  #oldest: HistoryRecord | undefined;
  #newest: HistoryRecord | undefined;
  #records = 0;
  #bytes = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(limits: HistoryLimits) {
    this.#limits = limits;
  }

  /** Gives the message its position in the stream of `topic` and each ancestor, and keeps it. */
  append(topic: string, ancestors: readonly string[], message: BrokerMessage): StampedMessage[] {
    const time = Date.now();
    const count = ancestors.length;
    const streams: TopicStream<HistoryRecord>[] = new Array(count);
    const stamps: StampedMessage[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const stream = this.#stream(ancestors[i]!);
      streams[i] = stream;
      stamps[i] = new StampedMessage(message, topic, stream.epoch, ++stream.offset, time);
    }
    const bytes = message.byteLength + 2 * topic.length + RECORD_BYTES + STAMP_BYTES * count;
    while (!this.#limits.budget.tryReserve(bytes)) {
      if (this.#oldest) {
        this.#evict(this.#oldest);
        continue;
      }
      // Bigger than all the budget allows: not kept, and every stream it is in says so.
      for (const stream of streams) {
        stream.removedThrough = stream.offset;
        this.#markIdle(stream);
      }
      return stamps;
    }
    const record: HistoryRecord = { streams, stamps, time, bytes, refs: count, older: this.#newest, newer: undefined };
    if (this.#newest) this.#newest.newer = record;
    else this.#oldest = record;
    this.#newest = record;
    this.#records++;
    this.#bytes += bytes;
    for (let i = 0; i < count; i++) {
      const stream = streams[i]!;
      if (stream.size === 0) {
        this.#idle.delete(stream.topic);
        // Evictions just above may have forgotten it as idle: it is this topic's stream again.
        this.#streams.set(stream.topic, stream);
      }
      stream.push(stamps[i]!, record);
      if (stream.size > this.#limits.size) this.#unref(stream.shift()!);
    }
    this.#timer ??= startTimer(() => this.#expire(Date.now()), Math.min(1000, this.#limits.ttlMs / 4));
    return stamps;
  }

  /** The stream of `topic` after the id `since`, or its last position without one (see Engine.recover). */
  recover(topic: string, since: string | undefined): Recovery {
    if (since === undefined) return { entries: [], position: this.#position(topic) };
    this.#expire(Date.now());
    const position = parseStreamId(since);
    const stream = this.#streams.get(topic);
    if (!stream) return { entries: [], gap: { topic, since, reason: 'epoch' } };
    const lost = stream.removedThrough > 0 ? formatStreamId(stream.epoch, stream.removedThrough) : undefined;
    if (!position || position.epoch !== stream.epoch || position.offset > stream.offset) {
      // Another epoch: how much was lost is unknown; what this epoch still holds is replayed.
      return { entries: stream.after(stream.removedThrough), gap: { topic, since, reason: 'epoch', ...(lost && { until: lost }) } };
    }
    if (position.offset >= stream.removedThrough) return { entries: stream.after(position.offset) };
    return {
      entries: stream.after(stream.removedThrough),
      gap: { topic, since, reason: 'trimmed', missed: stream.removedThrough - position.offset, until: lost! },
    };
  }

  stats(): HistoryStats {
    return { topics: this.#streams.size - this.#idle.size, messages: this.#records, bytes: this.#bytes };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The last position of `topic`'s stream. One that does not exist (never published under, or
   * forgotten) is made now, idle, so that the position names an epoch a resume will recognise.
   */
  #position(topic: string): StreamPosition {
    let stream = this.#streams.get(topic);
    if (!stream) {
      stream = this.#stream(topic);
      this.#markIdle(stream);
    }
    return { epoch: stream.epoch, offset: stream.offset };
  }

  #stream(topic: string): TopicStream<HistoryRecord> {
    let stream = this.#streams.get(topic);
    if (!stream) this.#streams.set(topic, (stream = new TopicStream(topic, newEpoch())));
    return stream;
  }

  /** Takes the oldest messages away while they are older than `historyTtl`. */
  #expire(now: number): void {
    const cutoff = now - this.#limits.ttlMs;
    while (this.#oldest && this.#oldest.time <= cutoff) this.#evict(this.#oldest);
    if (!this.#oldest) this.close();
  }

  /** Removes the oldest record from every stream still holding it (it is the oldest in each). */
  #evict(record: HistoryRecord): void {
    for (let i = 0; i < record.streams.length; i++) {
      const stream = record.streams[i]!;
      if (stream.first() !== record.stamps[i]) continue;
      stream.shift();
      if (stream.size === 0) this.#markIdle(stream);
    }
    record.refs = 0;
    this.#drop(record);
  }

  /** One stream let go of `record`; the last one frees it. */
  #unref(record: HistoryRecord): void {
    if (--record.refs === 0) this.#drop(record);
  }

  #drop(record: HistoryRecord): void {
    if (record.older) record.older.newer = record.newer;
    else this.#oldest = record.newer;
    if (record.newer) record.newer.older = record.older;
    else this.#newest = record.older;
    record.older = record.newer = undefined;
    this.#records--;
    this.#bytes -= record.bytes;
    this.#limits.budget.release(record.bytes);
  }

  #markIdle(stream: TopicStream<HistoryRecord>): void {
    this.#idle.delete(stream.topic);
    this.#idle.set(stream.topic, stream);
    if (this.#idle.size <= IDLE_STREAMS) return;
    const [forgotten] = this.#idle.keys();
    this.#idle.delete(forgotten!);
    this.#streams.delete(forgotten!);
  }
}

function startTimer(run: () => void, everyMs: number): ReturnType<typeof setInterval> {
  const timer = setInterval(run, Math.max(10, everyMs));
  // Node and Bun timers have unref (a broker's history must not keep a process alive on its own).
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
