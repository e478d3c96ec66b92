/**
 * Resuming a subscriber that wants ids from the id it last saw (`BrokerCore.subscribeFrom` with
 * an engine that keeps history). The subscriber is attached at once, so nothing published from
 * now on can pass it by; what reaches it while its replay is read and sent waits (Delivery.hold).
 * Then, in order: the gap notice if messages were lost, the replay, what waited minus what the
 * replay already had. A replay answered later (from Redis) may still see live copies of what it
 * had, on another connection: those are skipped until the first newer one (Delivery.seam).
 *
 * A subscriber that wants ids but gave no `since` resumes from the current end the same way:
 * nothing to replay, its start position (the stream's last, read after it was attached) goes out
 * first, and what waited at or before that position is skipped, as copies of a replay are. So the
 * position is exactly where its live messages begin, even when Redis answers while publishes race
 * the read. An engine that cannot read it (Redis away) leaves it to the topic's own count, taken
 * at attach (`localPosition`): the messages that follow are then of other epochs or after it.
 *
 * The replay is paced: it goes out while the subscriber's backlog stays under half of
 * `maxBufferedBytes`, and continues as the backlog drains, so a history far bigger than one
 * backlog reaches a subscriber that reads it, instead of tripping the slow-consumer rule at once.
 */
import type { Receiver } from '../receiver.ts';
import { formatStreamId, parseStreamId, type StampedMessage, type StreamPosition } from '../stamped.ts';
import type { Delivery } from './delivery.ts';
import type { Recovery } from './engine.ts';

/** How soon a paused replay looks at the subscriber's backlog again. */
const PACE_MS = 10;

export interface ResumeHost {
  readonly delivery: Delivery;
  readonly maxBufferedBytes: number;
  /** Subscribes (the topic is validated), not through a broadcaster yet. */
  attach(topic: string, receiver: Receiver): void;
  /** Whether the receiver is still attached (it may close or be dropped meanwhile). */
  attached(receiver: Receiver): boolean;
  /** Caught up: it may join its broadcaster now. */
  promote(topic: string, receiver: Receiver): void;
  /** The topic's own count (Subscriptions.position), for a start position no engine gave. */
  localPosition(topic: string): StreamPosition | undefined;
}

interface Replay {
  readonly topic: string;
  readonly receiver: Receiver;
  readonly entries: readonly StampedMessage[];
  next: number;
  /** Where the subscriber is: after this position it gets messages. */
  last: StreamPosition | undefined;
  /** Answered later (Redis): live copies of what it had may still come. */
  readonly later: boolean;
}

/** `since` undefined: from the current end, with the start position first (see above). */
export function resume(
  host: ResumeHost,
  topic: string,
  receiver: Receiver,
  since: string | undefined,
  recover: (topic: string, since: string | undefined) => Recovery | Promise<Recovery>,
): void {
  host.delivery.hold(receiver);
  host.attach(topic, receiver);
  // Taken now, before anything more is counted, in case the engine cannot say.
  const fallback = since === undefined ? host.localPosition(topic) : undefined;
  const recovery = recover(topic, since);
  const start = (answer: Recovery, later: boolean) => {
    if (!host.attached(receiver)) {
      host.delivery.release(receiver);
      return;
    }
    if (answer.gap) receiver.deliverGap?.(answer.gap);
    const last = since === undefined ? (answer.position ?? fallback) : parseStreamId(since);
    if (since === undefined && last) receiver.deliverPosition?.({ topic, id: formatStreamId(last.epoch, last.offset) });
    send(host, { topic, receiver, entries: answer.entries, next: 0, last, later });
  };
  if (recovery instanceof Promise) void recovery.then((answer) => start(answer, true));
  else start(recovery, false);
}

function send(host: ResumeHost, replay: Replay): void {
  const { receiver, entries } = replay;
  if (!host.attached(receiver)) {
    host.delivery.release(receiver);
    return;
  }
  while (replay.next < entries.length) {
    if (receiver.bufferedAmount() > host.maxBufferedBytes / 2) {
      setTimeout(() => send(host, replay), PACE_MS);
      return;
    }
    const message = entries[replay.next++]!;
    host.delivery.deliverStamped(receiver, message, true);
    replay.last = message;
  }
  // What was published while the replay was read and sent, minus what the replay had already.
  let last = replay.last;
  for (const message of host.delivery.release(receiver)) {
    if (last && message.epoch === last.epoch && message.offset <= last.offset) continue;
    host.delivery.deliverStamped(receiver, message);
    last = message;
  }
  if (replay.later && last) host.delivery.seam(receiver, last);
  else host.promote(replay.topic, receiver);
}
