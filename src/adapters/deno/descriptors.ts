/**
 * Running out of file descriptors, survived on Deno. Measured on Deno 2.9: once `accept` fails
 * with EMFILE, the `node:http` listener never accepts again (no error is reported, the process
 * lives on, and every later client waits in the kernel's backlog for good), and `Deno.serve`
 * throws an uncaught "Too many open files" that ends the process. Either way one client holding
 * enough sockets (half-sent request heads are enough) takes the broker down.
 *
 * So the broker never lets `accept` reach the limit: it counts every accepted socket (HTTP,
 * WebSocket, SSE, half-sent heads alike), and at `cap` it stops listening: new connections are
 * refused by the system (ECONNREFUSED) while the open ones go on and the request timeouts keep
 * expiring the idle ones. Once enough have closed it listens again on the same address. One log
 * line each way.
 *
 * The cap: Deno lets a program read `/proc/self/limits` only with every permission (`-A`), so the
 * free descriptors are counted instead, once at start-up, by opening `/dev/null` until the system
 * refuses or there are enough (`probeDescriptors`: about 10 ms per thousand). The cap is what is
 * free less half of `SPARE_DESCRIPTORS`, and at most twice `maxConnections` (WebSockets and SSE
 * streams are `maxConnections` at most; the rest is room for plain requests). Where `/dev/null`
 * cannot be opened (Windows), or may not be read (run without `--allow-read`), there is no cap.
 *
 * Stopping to listen closes the listening socket itself (`server._handle`, as `net.Server.close`
 * does) without `http.Server.close`, which would also stop the request timeouts until the server
 * listens again: a cap full of half-sent heads would then never drain. If that internal is ever
 * missing, the guard falls back to `close()` and says so (tests/deno-descriptors.test.ts fails
 * on that line).
 */
import { closeSync, openSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { SPARE_DESCRIPTORS } from '../open-file-limit.ts';

interface Listening {
  server: Server;
  host: string;
  port: number;
}

interface ServerInternals {
  _handle?: { close?: unknown } | null;
}

export class AcceptGuard {
  #open = 0;
  #paused = false;
  #stopped = false;
  readonly #listening: Listening[] = [];
  /** Listen again once this few are open: a gap, so a full broker does not flap. */
  readonly #resumeAt: number;

  constructor(
    /** Accepted sockets open at once before the listeners stop. */
    readonly cap: number,
    private readonly log: (line: string) => void,
  ) {
    this.#resumeAt = cap - Math.max(1, Math.floor(cap / 10));
  }

  get open(): number {
    return this.#open;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Counts `server`'s connections; it listens (or will) at `host:port`. */
  watch(server: Server, host: string, port: number): void {
    this.#listening.push({ server, host, port });
    server.on('connection', (socket: Socket) => this.#accepted(socket));
  }

  /** Shutdown: never listen again. */
  stop(): void {
    this.#stopped = true;
  }

  #accepted(socket: Socket): void {
    this.#open++;
    socket.once('close', () => this.#closed());
    if (this.#open >= this.cap && !this.#paused && !this.#stopped) this.#pause();
  }

  #closed(): void {
    this.#open--;
    if (this.#paused && this.#open <= this.#resumeAt) this.#resume();
  }

  #pause(): void {
    this.#paused = true;
    this.log(`${this.#open} connections open, near the open-file limit: refusing new connections until ${this.#resumeAt} are left`);
    for (const { server } of this.#listening) stopListening(server, this.log);
  }

  #resume(): void {
    this.#paused = false;
    if (this.#stopped) return;
    this.log(`${this.#open} connections open: accepting again`);
    for (const { server, host, port } of this.#listening) {
      if (server.listening) continue;
      const failed = (error: Error) => {
        // Tried again when the next connection closes.
        this.#paused = true;
        this.log(`cannot listen again at ${host}:${port}: ${error.message}`);
      };
      server.once('error', failed);
      server.listen(port, host, () => server.off('error', failed));
    }
  }
}

export interface DescriptorProbe {
  /** Descriptors that could be opened (at most the number asked for). */
  free: number;
  /** The open-file limit, when the probe reached it (the last descriptor's number plus one). */
  limit: number | undefined;
}

/**
 * Opens `/dev/null` up to `upTo` times (closing each again) to count the free descriptors;
 * undefined when it cannot be opened at all.
 */
export function probeDescriptors(upTo: number): DescriptorProbe | undefined {
  const opened: number[] = [];
  let limit: number | undefined;
  try {
    while (opened.length < upTo) opened.push(openSync('/dev/null', 'r'));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Descriptors are numbered lowest first: at the limit the last one opened is the highest.
    if (code === 'EMFILE' && opened.length > 0) limit = opened[opened.length - 1]! + 1;
    else if (opened.length === 0) return undefined;
  } finally {
    for (const fd of opened) closeSync(fd);
  }
  return { free: opened.length, limit };
}

const probes = new Map<number, DescriptorProbe | undefined>();

/**
 * The probe for a broker of `maxConnections` (twice that and the spare descriptors), made once
 * per process and size: the start-up warning and the guard share it.
 */
export function descriptorsFor(maxConnections: number): DescriptorProbe | undefined {
  // Without read access the probe would make Deno ask for it: the broker asks only for what it
  // needs (the network), so it goes without the guard, as where /dev/null does not exist.
  if (Deno.permissions.querySync({ name: 'read', path: '/dev/null' }).state !== 'granted') return undefined;
  const upTo = 2 * maxConnections + SPARE_DESCRIPTORS;
  if (!probes.has(upTo)) probes.set(upTo, probeDescriptors(upTo));
  return probes.get(upTo);
}

/** The guard for `probe` (made just before listening), or undefined without one. */
export function acceptGuardFor(probe: DescriptorProbe | undefined, log: (line: string) => void): AcceptGuard | undefined {
  if (!probe) return undefined;
  const cap = probe.free - SPARE_DESCRIPTORS / 2;
  return cap > 1 ? new AcceptGuard(cap, log) : undefined;
}

/** Whether `server` can stop listening without `close()` (see the header). */
export function canStopListeningQuietly(server: Server): boolean {
  const handle = (server as unknown as ServerInternals)._handle;
  return handle !== undefined && (handle === null || typeof handle.close === 'function');
}

let fallbackReported = false;

function stopListening(server: Server, log: (line: string) => void): void {
  const internals = server as unknown as ServerInternals;
  const handle = internals._handle;
  if (handle && typeof handle.close === 'function') {
    handle.close();
    internals._handle = null;
    return;
  }
  if (!fallbackReported) {
    fallbackReported = true;
    log('the listening socket is not where Deno kept it (server._handle): pausing with close(), which also pauses request timeouts');
  }
  server.close();
}
