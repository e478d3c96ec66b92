/**
 * Message ids. Every topic a subscriber can subscribe to has a stream: the messages published to
 * it or to any of its descendants, in publish order, each at the next offset. A message published
 * on `wong/amy` is at one offset of `wong/amy`'s stream and at another of `wong`'s: a subscriber
 * sees the offset of the stream it follows, so resuming that subscription needs nothing else.
 *
 * An id is `EPOCH-OFFSET`: `EPOCH` names one life of one topic's stream (1 to 32 of `0-9a-z`,
 * new after a restart, after Redis lost the history, or once a quiet topic's history expired
 * and was forgotten), `OFFSET` counts from 1 within it (`EPOCH-0`, a start position, names the
 * start of an epoch with no message yet). Ids of one epoch are ordered by offset,
 * and consecutive offsets mean consecutive messages, so the broker can say exactly how many
 * messages a resuming subscriber missed. The memory engine and the Redis engine make ids the
 * same way; clients treat them as opaque strings.
 */
import type { BrokerMessage } from './message.ts';

/** Where a message sits in one topic's stream. */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/**
 * Why a resuming subscriber missed messages: the history no longer held what followed its id
 * (`trimmed`: `historySize`, `historyTtl` or the memory cap), the id is of another epoch or not of
 * this topic (`epoch`: what the current epoch still holds is replayed after the notice), the
 * broker keeps no history (`off`), or the history could not be read (`unavailable`: cluster mode
 * with Redis unreachable).
 */
export type GapReason = 'trimmed' | 'epoch' | 'off' | 'unavailable';

/** What a resuming subscriber is told before anything else when messages were lost. */
export interface StreamGap {
  /** The subscription's topic. */
  readonly topic: string;
  /** The id the subscriber resumed from. */
  readonly since: string;
  readonly reason: GapReason;
  /** How many messages were lost, when the broker knows (same epoch); absent otherwise. */
  readonly missed?: number;
  /**
   * The id of the last message lost, when the broker knows it: a subscriber cut off again before
   * anything else arrives resumes after it, so the same loss is not reported twice.
   */
  readonly until?: string;
}

/**
 * Where a subscription that asked for no `since` starts (`Receiver.deliverPosition`): the id of
 * the last message of its topic's stream when it was attached. Every message after it reaches
 * the subscriber, none at or before it does, so a subscriber cut before its first message resumes
 * from here. Offset 0 (`EPOCH-0`) means the epoch has no message yet.
 */
export interface StartPosition {
  /** The subscription's topic. */
  readonly topic: string;
  readonly id: string;
}

// Offset 0 is a start position's in a stream that has no message yet (see StartPosition).
const ID_PATTERN = /^([0-9a-z]{1,32})-(0|[1-9][0-9]{0,15})$/;

export function formatStreamId(epoch: string, offset: number): string {
  return `${epoch}-${offset}`;
}

/** The position an id names, or undefined when it is not an id of this broker's form. */
export function parseStreamId(id: string): StreamPosition | undefined {
  const match = ID_PATTERN.exec(id);
  if (!match) return undefined;
  const offset = Number(match[2]);
  return Number.isSafeInteger(offset) ? { epoch: match[1]!, offset } : undefined;
}

/**
 * One message at one position of one topic's stream: what a subscriber that wants ids gets (and
 * what history keeps). `topic` is the topic it was published to. Transports cache their encoding
 * of it with `prepared`, as they do on the message itself: every subscriber of the stream gets
 * the same bytes.
 */
export class StampedMessage implements StreamPosition {
  // The first transport's prepared value in two fields, as in BrokerMessage (one comparison per
  // receiver, no Map probe).
  private _id: string | undefined = undefined;
  private _firstKey: object | undefined = undefined;
  private _firstValue: unknown = undefined;
  private _prepared: Map<object, unknown> | undefined = undefined;

  constructor(
    readonly message: BrokerMessage,
    readonly topic: string,
    readonly epoch: string,
    readonly offset: number,
    /** Publish time, ms since the epoch. */
    readonly time: number,
  ) {}

  get id(): string {
    return (this._id ??= formatStreamId(this.epoch, this.offset));
  }

  /** See `BrokerMessage.prepared`: `key` a module constant, `prepare` a module function. */
  prepared<T>(key: object, prepare: (message: StampedMessage) => T): T {
    if (this._firstKey === key) return this._firstValue as T;
    if (this._firstKey === undefined) {
      const value = prepare(this);
      this._firstKey = key;
      this._firstValue = value;
      return value;
    }
    const cache = (this._prepared ??= new Map());
    if (cache.has(key)) return cache.get(key) as T;
    const value = prepare(this);
    cache.set(key, value);
    return value;
  }
}
