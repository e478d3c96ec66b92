/**
 * A bound on how much fan-out one event-loop turn may collect, kept by pausing the publishers
 * whose messages filled it until the next turn.
 *
 * The fast send path (fast-socket-session.ts) collects every subscriber's frames until the turn
 * ends and writes them then. On Node a turn is one socket read (64 KiB at most), so a turn holds
 * at most that times the number of subscribers. Deno's `node:http` runs every read that
 * completed together in one task: four publishers flooding 16 KiB frames to 1,100 subscribers
 * made turns that collected 2 MB for every subscriber (2.2 GB of frame references) and took up
 * to 460 ms to write, and the event loop was blocked as long: signals, pings and timers all
 * waited (tests/deno-shutdown-under-load.test.ts).
 *
 * Past `TURN_BUDGET_BYTES` collected in a turn, a publisher whose message arrives is paused: the
 * message is still delivered (it was read), but its socket reads nothing more until the next
 * turn, after this turn's writes. Publishers wait; nobody is refused, nothing is dropped, and a
 * turn holds at most the budget plus one read's fan-out.
 */
import type { Duplex } from 'node:stream';

/** Far above what a turn of the fan-out benchmarks collects (256 × 1,000 × 66 B = 17 MB). */
export const TURN_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Whether turns are bounded in this process: only on Deno (`fastTransport` with a
 * `taskAllowance` turns it on). On Node a turn is one read already, so there the per-frame count
 * would be work for nothing.
 */
export let turnBudgetOn = false;

export function enableTurnBudget(): void {
  turnBudgetOn = true;
}

let collected = 0;
const paused: Duplex[] = [];

/** Counts bytes a session collected for this turn's write (called for every frame while `turnBudgetOn`). */
export function collectedThisTurn(bytes: number): void {
  collected += bytes;
}

/** The turn's writes are done: the next turn starts with nothing collected. */
export function turnWritten(): void {
  collected = 0;
}

/**
 * Bytes published since the event loop last had a turn of its own. Deno resolves a socket read
 * that finds data at once, so while publishers keep their sockets full, read follows read in
 * one chain of microtasks that can last seconds: flushes happen (they are nextTicks), but no
 * timer, signal or other socket is serviced. A SIGTERM's listener ran up to 5 s late that way,
 * and a message posted by a worker that had the signal at once arrived just as late (both
 * measured in tests/deno-shutdown-under-load.test.ts). Past this many bytes without a turn of
 * the loop, publishers are paused until it has had one.
 */
export const LOOP_BUDGET_BYTES = 16 * 1024 * 1024;

let publishedSinceLoop = 0;
let loopWatch = false;

/**
 * Pauses `socket`, which just published `bytes`, when this turn has collected more fan-out than
 * the budget, or publishers have sent more than `LOOP_BUDGET_BYTES` since the loop last turned.
 */
export function throttlePublisher(socket: Duplex | undefined, bytes = 0): void {
  publishedSinceLoop += bytes;
  if (!loopWatch) {
    loopWatch = true;
    setImmediate(loopTurned);
  }
  if (collected <= TURN_BUDGET_BYTES && publishedSinceLoop <= LOOP_BUDGET_BYTES) return;
  if (socket === undefined || socket.isPaused() || socket.destroyed) return;
  socket.pause();
  paused.push(socket);
}

/** A turn of the event loop: timers, signals and sockets have been serviced; publishers read again. */
function loopTurned(): void {
  loopWatch = false;
  publishedSinceLoop = 0;
  for (const socket of paused.splice(0)) if (!socket.destroyed) socket.resume();
}
