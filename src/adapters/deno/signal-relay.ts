/**
 * Signal listeners for the Deno CLI that run on time under load.
 *
 * Under a flood of small frames, Deno's main thread runs its timers on time but completes other
 * async operations seconds late, a signal's among them: `Deno.addSignalListener` on the main
 * thread ran 1.2–7.3 s after SIGTERM (tests/deno-shutdown-under-load.test.ts, 64-byte frames),
 * while a listener in an idle worker ran within a millisecond and a message the worker posted
 * arrived as late as the main listener. So a worker counts the signals in shared memory and a
 * main-thread timer reads the counts. The main thread's own listeners stay: they serve a signal
 * before the worker is up, and are the path left if the worker cannot start. Each signal reaches
 * the handler once, by whichever path sees it first.
 */

/** How often the main thread reads the worker's counts (ms): a signal waits at most this long. */
const POLL_MS = 20;

interface RelayRequest {
  readonly counts: Int32Array;
  readonly signals: readonly Deno.Signal[];
}

/**
 * The worker's whole program: count each signal in the shared array, then say it listens. It
 * does nothing else, so its event loop is always free to take a signal at once. It runs from its
 * source text (a `blob:` URL): a worker loaded from a file needs read permission, which a plain
 * `deno run mod.ts` does not have.
 */
function countSignals(): void {
  self.onmessage = (event: MessageEvent<RelayRequest>) => {
    const { counts, signals } = event.data;
    signals.forEach((signal, index) => Deno.addSignalListener(signal, () => Atomics.add(counts, index, 1)));
    self.postMessage('listening');
  };
}

/**
 * Calls `handler` once per signal received. Resolves once the worker listens too (true), or
 * could not start (false: the main thread's listeners alone).
 */
export function listenForSignals<Signal extends Deno.Signal>(signals: readonly Signal[], handler: (signal: Signal) => void): Promise<boolean> {
  const delivered = signals.map(() => 0);
  const deliverUpTo = (index: number, count: number) => {
    while ((delivered[index] ?? 0) < count) {
      delivered[index] = (delivered[index] ?? 0) + 1;
      handler(signals[index]!);
    }
  };
  const seenOnMain = signals.map(() => 0);
  signals.forEach((signal, index) => Deno.addSignalListener(signal, () => deliverUpTo(index, (seenOnMain[index] = (seenOnMain[index] ?? 0) + 1))));

  const counts = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * signals.length));
  const source = URL.createObjectURL(new Blob([`(${countSignals.toString()})();`], { type: 'text/javascript' }));
  const worker = new Worker(source, { type: 'module' });
  Deno.unrefTimer(setInterval(() => signals.forEach((_, index) => deliverUpTo(index, Atomics.load(counts, index))), POLL_MS));
  worker.postMessage({ counts, signals } satisfies RelayRequest);
  return new Promise((resolve) => {
    worker.onmessage = () => {
      URL.revokeObjectURL(source);
      resolve(true);
    };
    // A worker that fails leaves the main thread's listeners, never an uncaught error.
    worker.onerror = (event) => {
      event.preventDefault();
      resolve(false);
    };
  });
}
