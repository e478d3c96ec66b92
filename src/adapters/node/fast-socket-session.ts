/**
 * The Node adapter's fast send path (its `SocketTransport` for `createBroker`, see transport.ts). Fan-out is one message
 * in, thousands of frames out; `ws.send` per subscriber builds a new frame and makes a write
 * (a syscall) for every subscriber and every message. Here instead:
 *
 * - each message is framed once (`serverFrame`, cached on the message), and every subscriber
 *   gets the same bytes;
 * - a subscriber's frames are collected until the end of the current event-loop turn and go
 *   out in one write per socket per turn, however many messages the turn published;
 * - delivering allocates nothing per subscriber and calls no closure: a frame reference is
 *   stored, a counter bumped.
 *
 * Frames are written straight to the TCP socket under the `ws` WebSocket (`ws._socket`, an
 * internal of `ws`). `ws` still owns the socket: it reads, answers pings, sends close frames and
 * pings (control frames may sit between data frames). `fastSocketFor` checks the internals this
 * relies on and the factory falls back to the plain path if they ever change;
 * `tests/fast-socket-session.test.ts` fails loudly when they do.
 *
 * `bufferedAmount()` counts the frames still collected for this turn as well as what the socket
 * holds unsent, so the slow-consumer rule (`maxBufferedBytes`, close 1013) sees every byte.
 *
 * Deno's `node:net` reports a write as done only in a later event-loop task, even when the kernel
 * took it at once: within one task everything written still counts in `writableLength`. And
 * Deno reads a publisher's burst in larger pieces than Node, so one task may collect more than
 * `maxBufferedBytes` for a subscriber that reads everything. So on Deno (`taskAllowance`), what
 * a session collects and writes within one task counts toward its backlog only past the
 * allowance (the Deno adapter gives `maxBufferedBytes`), and is judged in full in the next task,
 * once Deno has said whether the kernel took it: a receiver holds at most twice
 * `maxBufferedBytes` (and a message), and a healthy subscriber is never cut by a burst that the
 * broker itself batched.
 */
import { Socket } from 'node:net';
import type { WSContext } from 'hono/ws';
import type { WebSocket } from 'ws';
import type { BrokerMessage } from '../../message.ts';
import type { Receiver } from '../../receiver.ts';
import { clock, type Session } from '../../app/sessions.ts';
import type { SessionOptions, SocketTransport } from '../../app/transport.ts';
import { CLOSE_SLOW_CONSUMER } from '../../core/delivery.ts';
import { SERVER_FRAME, serverFrame, textFrame } from './server-frame.ts';
import type { StampedMessage, StartPosition, StreamGap } from '../../stamped.ts';
import { gapJson, localJson, positionJson, STAMPED_JSON, stampedJson } from '../../app/json-envelope.ts';
import { collectedThisTurn, enableTurnBudget, turnBudgetOn, turnWritten } from './turn-budget.ts';

const OPEN = 1;
/** Past this many collected bytes a turn's frames go out as a writev (no copy), below as one buffer. */
const CONCAT_LIMIT = 64 * 1024;

export interface FastSessionOptions {
  /**
   * For a runtime that confirms writes only in a later task (Deno): bytes a session may collect
   * and write within one task before they count toward its backlog (see the header).
   */
  taskAllowance?: number;
}

/** Counts event-loop tasks in which sessions wrote with a `taskAllowance`, so each can tell its writes of this task from older ones. */
let task = 0;
let taskTimer: ReturnType<typeof setTimeout> | undefined;

function currentTask(): number {
  taskTimer ??= setTimeout(() => {
    taskTimer = undefined;
    task++;
  }, 0);
  return task;
}

interface WsInternals {
  _socket?: unknown;
  _sender?: { _socket?: unknown; _bufferedBytes?: unknown };
  _extensions?: Record<string, unknown>;
}

/**
 * The TCP socket `ws` writes this WebSocket's frames to, when it is safe to write frames there
 * directly: `ws` keeps it as `_socket`, its sender writes to the same socket and buffers nothing
 * of its own, and no extension (permessage-deflate) transforms frames. Otherwise undefined.
 */
export function fastSocketFor(ws: WebSocket): Socket | undefined {
  const internals = ws as unknown as WsInternals;
  const socket = internals._socket;
  if (!(socket instanceof Socket)) return undefined;
  if (internals._sender?._socket !== socket || typeof internals._sender._bufferedBytes !== 'number') return undefined;
  for (const _ in internals._extensions) return undefined;
  if (ws.readyState !== OPEN) return undefined;
  return socket;
}

/** Sessions with frames collected this turn; flushed together once the turn's work is done. */
const collecting: FastSocketSession[] = [];

function flushAll(): void {
  // Index loop: a flush never adds sessions, but keep it robust if one ever did.
  for (let i = 0; i < collecting.length; i++) collecting[i]!.flush();
  collecting.length = 0;
  lastFrames = undefined;
  lastJoined = undefined;
  turnWritten();
}

/**
 * The frames of one session's turn as one buffer. Subscribers of one topic collect the very same
 * frames in the same order, so the buffer made for the previous session is reused when its
 * frames are the same objects: a fan-out turn makes one copy instead of one per subscriber
 * (`Buffer.concat` was 6% of Node's fan-out profile and 16% of Deno's), and comparing frame
 * references costs far less than copying their bytes. Kept until the turn's writes are done.
 */
let lastFrames: Buffer[] | undefined;
let lastJoined: Buffer | undefined;

function joined(frames: Buffer[], bytes: number): Buffer {
  const last = lastFrames;
  if (last !== undefined && last.length === frames.length && lastJoined!.length === bytes) {
    let i = 0;
    while (i < frames.length && frames[i] === last[i]) i++;
    if (i === frames.length) return lastJoined!;
  }
  lastFrames = frames;
  return (lastJoined = Buffer.concat(frames, bytes));
}

export class FastSocketSession implements Session, Receiver {
  /** Written by the core during a publish (see Receiver). Declared so every session has one shape. */
  lastPublish = 0;

  /** Frames collected this turn: one buffer, or a list once there are several. */
  #pending: Buffer | Buffer[] | undefined = undefined;
  #pendingBytes = 0;
  #activeAt = clock.now;
  /** `socket.bytesRead` when `#activeAt` was last refreshed from it. */
  #readSeen = 0;
  /** `socket.bytesRead` when the last unanswered ping went out; -1 when none is pending. */
  #readAtPing = -1;
  readonly #taskAllowance: number | undefined;
  /** Bytes written in task `#writtenIn` (with a `taskAllowance`). */
  #writtenNow = 0;
  #writtenIn = -1;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    options: FastSessionOptions = {},
  ) {
    this.#readSeen = socket.bytesRead;
    this.#taskAllowance = options.taskAllowance;
  }

  get receiver(): Receiver {
    return this;
  }

  // Activity and pong answers are read off the socket's byte count instead of listening for
  // each frame and pong: no listener, no closure per idle connection. Anything the peer sends
  // (a pong, any frame) is activity, and proves it alive after a ping.
  get lastActivity(): number {
    const read = this.socket.bytesRead;
    if (read !== this.#readSeen) {
      this.#readSeen = read;
      this.#activeAt = clock.now;
    }
    return this.#activeAt;
  }

  set lastActivity(at: number) {
    this.#activeAt = at;
  }

  get awaitingPong(): boolean {
    return this.#readAtPing !== -1 && this.socket.bytesRead === this.#readAtPing;
  }

  set awaitingPong(waiting: boolean) {
    this.#readAtPing = waiting ? this.socket.bytesRead : -1;
  }

  deliver(message: BrokerMessage, _topic?: string): void {
    this.enqueue(message.prepared(SERVER_FRAME, serverFrame));
  }

  /**
   * Collects one ready frame for this turn's write: raw messages (`deliver` above) and the JSON
   * sessions' envelopes (`FastJsonSocketSession`) alike. Small enough for the engines to inline.
   */
  enqueue(frame: Buffer): void {
    const pending = this.#pending;
    if (pending === undefined) {
      this.#pending = frame;
      if (collecting.length === 0) process.nextTick(flushAll);
      collecting.push(this);
    } else if (Array.isArray(pending)) {
      pending.push(frame);
    } else {
      this.#pending = [pending, frame];
    }
    this.#pendingBytes += frame.length;
    if (turnBudgetOn) collectedThisTurn(frame.length);
    this.#activeAt = clock.now;
  }

  bufferedAmount(): number {
    const unsent = this.socket.writableLength;
    const allowance = this.#taskAllowance;
    if (allowance === undefined) return this.#pendingBytes + unsent;
    // Collected in this task (written at its end) and written in it: past the allowance only.
    const thisTask = this.#writtenIn === task ? this.#writtenNow : 0;
    return Math.max(0, unsent - thisTask) + Math.max(0, this.#pendingBytes + thisTask - allowance);
  }

  /** Writes what this turn collected: one write, or one writev when it is large. */
  flush(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const bytes = this.#pendingBytes;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    // After a close frame (ours or the peer's) no data frame may follow.
    if (this.ws.readyState !== OPEN || this.socket.destroyed) return;
    if (this.#taskAllowance !== undefined) this.#wrote(bytes);
    const socket = this.socket;
    if (!Array.isArray(pending)) {
      socket.write(pending);
    } else if (bytes <= CONCAT_LIMIT) {
      socket.write(joined(pending, bytes));
    } else {
      socket.cork();
      for (const frame of pending) socket.write(frame);
      socket.uncork();
    }
  }

  close(code: number, reason: string): void {
    // A slow consumer's backlog is the problem: drop it so the close frame goes out now.
    // Otherwise (shutdown, inactivity) what was published before the close still goes first.
    if (code === CLOSE_SLOW_CONSUMER) this.#discard();
    else this.flush();
    try {
      this.ws.close(code, reason);
    } catch {
      this.terminate();
    }
  }

  ping(): void {
    this.ws.ping();
  }

  terminate(): void {
    this.#discard();
    this.ws.terminate();
  }

  #discard(): void {
    this.#pending = undefined;
    this.#pendingBytes = 0;
  }

  #wrote(bytes: number): void {
    const now = currentTask();
    if (this.#writtenIn !== now) {
      this.#writtenIn = now;
      this.#writtenNow = 0;
    }
    this.#writtenNow += bytes;
  }
}

/**
 * The transport for sockets accepted by `attachUpgrades`: the fast path when the `ws` internals
 * it needs are there, else `fallback` (the standard path), reported once through `onFallback` so
 * a `ws` upgrade that changed them does not go unnoticed.
 */
export function fastTransport(fallback: SocketTransport, onFallback: (reason: string) => void = () => {}, options: FastSessionOptions = {}): SocketTransport {
  let reported = false;
  // A runtime that confirms writes a task late (Deno) also runs many reads in one task: bound
  // what a task collects (turn-budget.ts).
  if (options.taskAllowance !== undefined) enableTurnBudget();
  return {
    openSession(context: WSContext, sessionOptions?: SessionOptions): Session {
      const ws = context.raw as WebSocket | undefined;
      const socket = ws && typeof ws === 'object' ? fastSocketFor(ws) : undefined;
      if (ws && socket) return sessionOptions?.json ? new FastJsonSocketSession(ws, socket, options) : new FastSocketSession(ws, socket, options);
      if (!reported && ws && ws.readyState === OPEN) {
        reported = true;
        onFallback('the ws internals the fast send path needs (_socket, _sender) are not there; using the plain path');
      }
      return fallback.openSession(context, sessionOptions);
    },
  };
}

/**
 * A `?format=json` socket on the fast path: the same collecting and writing, with each message's
 * JSON envelope framed once per stream position (or per message, for bus and pull) and shared by
 * every such subscriber. Raw sockets never come here.
 */
export class FastJsonSocketSession extends FastSocketSession {
  override deliver(message: BrokerMessage, topic: string): void {
    localTopic = topic;
    this.enqueue(message.prepared(LOCAL_JSON_FRAME, localJsonFrame));
  }

  deliverStamped(message: StampedMessage): void {
    this.enqueue(message.prepared(STAMPED_JSON_FRAME, stampedJsonFrame));
  }

  deliverGap(gap: StreamGap): void {
    this.enqueue(textFrame(gapJson(gap)));
  }

  deliverPosition(position: StartPosition): void {
    this.enqueue(textFrame(positionJson(position)));
  }
}

const STAMPED_JSON_FRAME: object = { transport: 'node websocket frame, json envelope' };
const LOCAL_JSON_FRAME: object = { transport: 'node websocket frame, json envelope, local id' };
// A bus or push message is sent on one topic; it reaches the module function through here so
// `prepared` is not given a closure per receiver.
let localTopic = '';

function stampedJsonFrame(message: StampedMessage): Buffer {
  return textFrame(message.prepared(STAMPED_JSON, stampedJson));
}

function localJsonFrame(message: BrokerMessage): Buffer {
  return textFrame(localJson(message, localTopic));
}
