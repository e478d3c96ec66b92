/**
 * `createBroker(options)`: the broker as a Hono sub-app plus the core's methods. The app uses
 * standard Request/Response and the host's `upgradeWebSocket`, so it runs standalone (see the
 * runtime adapters) or mounted in another Hono service with `app.route('/broker', broker.app)`;
 * the entry points `broker-hono/node`, `/deno` and `/bun` (`mountBroker`) do that with each
 * runtime's pieces. Mounted, the mode is production unless asked, and `listen` is refused.
 *
 * ```ts
 * const broker = createBroker({ upgradeWebSocket });   // the host runtime's helper
 * app.route('/broker', broker.app);
 * ```
 */
import { Hono, type Context } from 'hono';
import type { UpgradeWebSocket } from 'hono/ws';
import { resolveOptions, type BrokerOptions, type BrokerOptionsInput } from '../options.ts';
import { BrokerCore } from '../core/broker-core.ts';
import type { EngineLifecycle } from '../core/engine.ts';
import type { BrokerStats } from '../core/counters.ts';
import type { PushResult } from '../core/push-pull.ts';
import { BrokerMessage, type MessageData } from '../message.ts';
import type { Subscriber } from '../receiver.ts';
import { compileOriginPatterns } from '../origin.ts';
import { parseTopic } from '../topic.ts';
import { defaultLog, errorResponse, type BrokerContext } from './context.ts';
import { checkOrigin, checkTopic, isUpgrade, requestPath, reserveConnection, wantsEventStream, type RouteKind } from './guards.ts';
import { ConnectionLimit, type Reservation } from './connection-limit.ts';
import { readMessageBody, refuseDeclaredLength, type BodyRefusal } from './read-body.ts';
import { PostsInFlight } from './posts-in-flight.ts';
import { SessionRegistry } from './sessions.ts';
import { standardTransport } from './socket-session.ts';
import type { SocketTransport } from './transport.ts';
import { socketEvents } from './socket-routes.ts';
import { prometheusText } from './metrics.ts';
import { demoPage } from './demo-page.ts';
import { CLIENT_SCRIPT } from './client-script.ts';
import { eventStreamResponse } from './sse.ts';
import { redisEngine } from '../engine/redis/redis-engine.ts';
import { memoryEngine } from './history-options.ts';
import { streamOptions, type StreamOptions } from './stream-options.ts';
import type { RedisTransportLoader } from '../engine/redis/deferred-transport.ts';
import { brokerGetPath } from './dot-segments.ts';
import { frontDoor } from './front-door.ts';
import { pushRefusal } from './push-refusal.ts';
import { addDebugHeapRoute, type HeapFigures } from './debug-heap.ts';
import { createAuthenticator, type Access } from './auth/verifier.ts';
import { adminOnly, checkGrant, checkToken, tokenRequired } from './auth/guards.ts';
import { compileOriginCheckOverTls } from './origin-over-tls.ts';

export interface CreateBrokerInit extends BrokerOptionsInput {
  /** The host runtime's WebSocket upgrade helper (`mountBroker` of `broker-hono/<runtime>` brings the right one). */
  // deno-lint-ignore no-explicit-any
  upgradeWebSocket: UpgradeWebSocket<any, any>;
  /** A runtime adapter's faster way to turn sockets into sessions (transport.ts); defaults to the standard one. */
  transport?: SocketTransport;
  /** Where one-line notices about refused clients go (default: console.warn). */
  log?: (line: string) => void;
  /**
   * The Redis client for cluster mode (`redis`), loaded only then. `mod.ts`'s `createBroker`
   * and the standalone servers supply node-redis (`src/adapters/redis/`).
   */
  loadRedisTransport?: RedisTransportLoader;
  /** Answers `GET /debug/heap` (leak tests); no such route unless given. Never in production. */
  debugHeap?: HeapFigures;
  /**
   * Reads the key files options name (`jwtPublicKey`, a `jwks` file); the standalone servers
   * give their runtime's. Without it `jwtPublicKey` must be the PEM text and `jwks` a URL or the
   * JSON text.
   */
  readTextFile?: (path: string) => string | Promise<string>;
  /** The peer address of a request (the runtime's connection info), for refusal log lines. */
  peerAddress?: (c: Context) => string | undefined;
  /**
   * What tells an SSE stream its client went away, besides the stream being cancelled; default:
   * the request's `signal`. Deno's adapter gives none: Deno cancels the stream, and merely
   * reading `request.signal` makes `Deno.serve` log a "legacy abort behavior" warning.
   */
  clientGoneSignal?: (request: Request) => AbortSignal | undefined;
}

export interface Broker {
  /** The Hono app: serve it, or mount it with `app.route(prefix, broker.app)`. */
  readonly app: Hono;
  readonly options: BrokerOptions;
  addTopicSubscriber(topic: string, subscriber: Subscriber): void;
  removeTopicSubscriber(topic: string, subscriber: Subscriber): boolean;
  publishTopicMessage(topic: string, message: MessageData): number;
  /** Sends to every peer on a bus topic; returns how many local peers got it. */
  sendBusMessage(topic: string, message: MessageData): number;
  /**
   * Gives a message to one puller (or queues it); anything but `delivered` or `queued` is a
   * refusal (see `PushResult`). A promise in cluster mode.
   */
  pushMessage(topic: string, message: MessageData): PushResult | Promise<PushResult>;
  stats(): BrokerStats;
  /** The engine: Redis when `redis` is set (cluster mode), else the memory engine. */
  readonly engine: EngineLifecycle;
  /** Closes every socket with 1001 and ends SSE streams; stops timers. */
  close(): void;
  /** @internal used by adapters and tests. */
  readonly context: BrokerContext;
}

/** A request the checks let through: its topic (validated, normalised) and its token's grants. */
interface Admitted {
  topic: string;
  access: Access | undefined;
}

const WEBSOCKET_ROUTES: readonly RouteKind[] = ['sub', 'pub', 'bus', 'push', 'pull'];
const TRUTHY = new Set(['1', 'true', 'yes', 'on']);

export function createBroker(init: CreateBrokerInit): Broker {
  const { upgradeWebSocket, transport, log, loadRedisTransport, debugHeap, readTextFile, peerAddress, clientGoneSignal, ...optionInput } = init;
  if (typeof upgradeWebSocket !== 'function') {
    throw new TypeError("createBroker: upgradeWebSocket is required (or use mountBroker from 'broker-hono/node', '/deno' or '/bun')");
  }
  // Mounted, the host's server listens: an address here would be silently ignored.
  if (optionInput.listen !== undefined) {
    throw new TypeError('createBroker: listen means nothing to a mounted broker (your server listens): give the port to your server, or use serveBroker / npx broker-hono to have the broker listen');
  }
  // Mounted in someone's service, the demo page is served only when asked for (mode: 'development').
  const options = resolveOptions({ ...optionInput, mode: optionInput.mode ?? 'production' });
  if (options.redis && !loadRedisTransport) {
    throw new TypeError("createBroker: redis needs a Redis client: import createBroker from 'broker-hono' (it brings node-redis) or pass loadRedisTransport");
  }
  const logLine = log ?? defaultLog;
  // Cluster mode: the Redis engine follows the core's local interest and forwards its messages.
  const engine =
    options.redis && loadRedisTransport
      ? redisEngine({
          url: options.redis,
          pushQueueLimit: options.pushQueueLimit,
          pushQueueBytes: options.pushQueueBytes,
          maxHeldBytes: options.maxHeldBytes,
          loadTransport: loadRedisTransport,
          log: logLine,
          history: options.historySize > 0 ? { size: options.historySize, ttlMs: options.historyTtl * 1000 } : undefined,
        })
      : undefined;
  const core = new BrokerCore(
    {
      maxTopicDepth: options.maxTopicDepth,
      maxTopicLength: options.maxTopicLength,
      maxBufferedBytes: options.maxBufferedBytes,
      pushQueueLimit: options.pushQueueLimit,
      pushQueueBytes: options.pushQueueBytes,
      maxHeldBytes: options.maxHeldBytes,
    },
    engine ?? memoryEngine(options),
  );
  const ctx: BrokerContext = {
    options,
    core,
    sessions: new SessionRegistry(options.pingInterval * 1000, options.inactivityTimeout * 1000),
    originAllowed: compileOriginPatterns(options.allowOrigin),
    originAllowedOverTls: compileOriginCheckOverTls(options.allowOrigin),
    auth: createAuthenticator(options, { readTextFile, log: logLine }),
    peerAddress,
    transport: transport ?? standardTransport,
    connectionLimit: new ConnectionLimit(core.counters, options.maxConnections),
    engineProblem: () => core.engine.problem(),
    log: logLine,
  };

  const postsInFlight = new PostsInFlight(options.maxPostsInFlight);
  // Routes on the path with dot segments resolved, as URL parsing resolves them (dot-segments.ts).
  const app = new Hono({ getPath: brokerGetPath });
  // Mounted in a host app, the broker still answers as it does standalone: dot segments the host
  // routed as sent, HEAD (never a body, never a 500), and CORS for pages from other origins.
  app.use('*', frontDoor(ctx, app));

  for (const kind of WEBSOCKET_ROUTES) {
    // Not async: with auth off and no cluster, a handshake is checked and accepted without an
    // await (each costs a promise and a resumed function per connection; see openStream).
    app.get(`/${kind}/*`, (c): Response | Promise<Response> => {
      const upgrade = isUpgrade(c);
      // A subscriber may also come as Server-Sent Events (see sse.ts).
      const eventStream = kind === 'sub' && !upgrade && wantsEventStream(c);
      const admitted = admit(c, kind, upgrade || eventStream ? 'required' : 'unchecked');
      return admitted instanceof Promise
        ? admitted.then((result) => openStream(c, kind, upgrade, eventStream, result))
        : openStream(c, kind, upgrade, eventStream, admitted);
    });
  }

  // The route has validated the topic: the core is not asked to parse it again.
  app.post('/pub/*', (c) => handlePost(c, 'pub', (topic, data) => void core.publishValidTopic(topic, new BrokerMessage(data))));
  app.post('/bus/*', (c) => handlePost(c, 'bus', (topic, data) => void core.sendBus(topic, data)));
  app.post('/push/*', (c) =>
    handlePost(c, 'push', async (topic, data) => {
      const result = await core.push(topic, data);
      const refusal = pushRefusal(result, topic, options, ctx.engineProblem);
      if (!refusal) return undefined;
      ctx.log(`push to ${JSON.stringify(topic)} refused: POST ${requestPath(c)} answered 503: ${refusal.error}`);
      return errorResponse(503, refusal.error, { 'retry-after': '1' });
    }),
  );

  app.get('/healthz', (c) => {
    const problem = ctx.engineProblem();
    // The status named: Hono then sets the content type, which Bun otherwise leaves out of the
    // headers (a HEAD had none, a GET went out as application/octet-stream).
    return problem ? c.text(`unhealthy: ${problem}`, 503) : c.text('ok', 200);
  });
  // With auth on, the counters are for tokens with `admin: true`, the demo page for any valid token.
  const admin = adminOnly(ctx);
  app.get('/stats', admin, (c) => c.json(core.stats()));
  app.get('/metrics', admin, (c) =>
    c.body(prometheusText(core.stats()), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
  app.get('/', tokenRequired(ctx), (c) => (options.mode === 'development' ? c.html(demoPage()) : c.notFound()));
  // The client library for pages that do not bundle it (`import { createClient } from '…/client.js'`):
  // public code, served without a token.
  app.get('/client.js', (c) => c.body(CLIENT_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  addDebugHeapRoute(app, debugHeap);

  // `c.req.path` is read off the URL as text: `new URL(c.req.url)` throws on what some runtimes
  // let through (Bun: `Host: x:99999`), which turned a 404 into a 500.
  app.notFound((c) => errorResponse(404, `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    ctx.log(`error on ${c.req.method} ${c.req.path}: ${error instanceof Error ? error.message : String(error)}`);
    return errorResponse(500, 'internal error');
  });

  /**
   * The checks before any stream, socket or body, in the order a client wants to hear of them:
   * origin (401; `required` for WebSockets and SSE, `optional` when a POST sends none, not
   * checked on a GET that will only hear 426), token (401), topic (400), grant (403).
   */
  function admit(c: Context, kind: RouteKind, origin: 'required' | 'optional' | 'unchecked'): Admitted | Response | Promise<Admitted | Response> {
    const refusedOrigin = origin === 'unchecked' ? undefined : checkOrigin(ctx, c, origin === 'required');
    if (refusedOrigin) return refusedOrigin;
    // Only a token can take time to check (a key set fetched): without auth, no promise.
    if (!ctx.auth) return admitTopic(c, kind, undefined);
    return checkToken(ctx, c).then((access) => (access instanceof Response ? access : admitTopic(c, kind, access)));
  }

  /** The topic (400) and the token's grant on it (403). */
  function admitTopic(c: Context, kind: RouteKind, access: Access | undefined): Admitted | Response {
    const topic = checkTopic(ctx, c, kind);
    if (!topic.ok) return topic.response;
    const forbidden = checkGrant(ctx, c, access, kind, topic.topic.name);
    if (forbidden) return forbidden;
    return { topic: topic.topic.name, access };
  }

  /** A GET on a stream route, admitted or not: the SSE stream, the socket, or why not. */
  function openStream(c: Context, kind: RouteKind, upgrade: boolean, eventStream: boolean, admitted: Admitted | Response): Response | Promise<Response> {
    if (admitted instanceof Response) return admitted;
    const { topic: name, access } = admitted;
    if (!eventStream && !upgrade) return upgradeRequired();
    const stream = streamOptions(ctx, c, kind, eventStream);
    if (stream instanceof Response) return stream;
    // A slot is held from here until the stream or socket opens (or never does), so requests
    // waiting at the same time (the cluster's prepare, a slow handshake) cannot overshoot
    // maxConnections (see connection-limit.ts).
    const reservation = reserveConnection(ctx, c);
    if (reservation instanceof Response) return reservation;
    if (eventStream) return openEventStream(c, name, reservation, access, stream);
    // The runtime could not upgrade this request (Hono's helpers throw when they decline): no
    // socket will open, so the slot goes back and the client hears what the route needs.
    const refuse = (error: unknown) => {
      reservation.release();
      ctx.log(`refused upgrade ${requestPath(c)}: 426 ${error instanceof Error ? error.message : String(error)}`);
      return upgradeRequired();
    };
    // The socket's events release the reservation when it opens or its handshake fails.
    const accept = () => {
      const echo = kind === 'bus' && TRUTHY.has((c.req.query('echo') ?? '').toLowerCase());
      return upgradeWebSocket(c, socketEvents(ctx, kind, name, echo, reservation, access?.expiresAt, stream));
    };
    try {
      // Cluster mode: open the socket only once other nodes' messages will reach it.
      const prepared = kind === 'sub' || kind === 'bus' || kind === 'pull' ? core.prepare(kind, name) : undefined;
      return (prepared ? prepared.then(accept) : accept()).catch(refuse) as Promise<Response>;
    } catch (error) {
      return refuse(error);
    }
  }

  async function openEventStream(c: Context, name: string, reservation: Reservation, access: Access | undefined, stream: StreamOptions): Promise<Response> {
    try {
      await core.prepare('sub', name);
    } finally {
      reservation.release();
    }
    return eventStreamResponse(ctx, name, clientGoneSignal ? clientGoneSignal(c.req.raw) : c.req.raw.signal, access?.expiresAt, stream);
  }

  async function handlePost(c: Context, kind: RouteKind, send: (topic: string, data: MessageData) => Response | undefined | Promise<Response | undefined>) {
    const admitted = await admit(c, kind, 'optional');
    if (admitted instanceof Response) return admitted;
    const { topic } = admitted;
    const declaredTooLarge = refuseDeclaredLength(c.req.raw, options.maxMessageSize);
    if (declaredTooLarge) return refusedBody(c, declaredTooLarge);
    // Counted from before the body is read until the answer is ready (posts-in-flight.ts).
    if (!postsInFlight.tryEnter()) {
      core.counters.refused++;
      ctx.log(`refused POST ${requestPath(c)}: 503 maxPostsInFlight (${options.maxPostsInFlight}) reached`);
      // The body is not read: the connection must not carry another request.
      return errorResponse(503, `too many POSTs in flight (maxPostsInFlight ${options.maxPostsInFlight})`, { 'retry-after': '1', connection: 'close' });
    }
    try {
      // The body's bytes come out of the broker's one budget while it is read (maxHeldBytes).
      const body = await readMessageBody(c.req.raw, options.maxMessageSize, core.budget, { timeoutMs: options.bodyTimeout * 1000 });
      if (!body.ok) return refusedBody(c, body);
      return (await send(topic, body.data)) ?? c.body(null, 200);
    } finally {
      postsInFlight.leave();
    }
  }

  function refusedBody(c: Context, body: BodyRefusal): Response {
    // An unreadable body means the client went away or sent what the HTTP layer itself refused
    // (and logged): one line per refused client, not two.
    if (body.status !== 400) ctx.log(`refused POST ${requestPath(c)}: ${body.status} ${body.error}`);
    if (body.status === 503) core.counters.refused++;
    // The body may not have been read to its end: the connection must not carry another request.
    return errorResponse(body.status, body.error, { connection: 'close', ...(body.status === 503 ? { 'retry-after': '1' } : {}) });
  }

  // The routes validate topics before they reach the core; the public API must too.
  function validTopic(topic: string): string {
    const parsed = parseTopic(topic, options);
    if (!parsed.ok) throw new TypeError(`invalid topic ${JSON.stringify(topic)}: ${parsed.error}`);
    return parsed.topic.name;
  }

  return {
    app,
    options,
    context: ctx,
    addTopicSubscriber: (topic, subscriber) => core.addTopicSubscriber(topic, subscriber),
    removeTopicSubscriber: (topic, subscriber) => core.removeTopicSubscriber(topic, subscriber),
    publishTopicMessage: (topic, message) => core.publishTopicMessage(topic, message),
    sendBusMessage: (topic, message) => core.sendBus(validTopic(topic), message),
    pushMessage: (topic, message) => core.push(validTopic(topic), message),
    stats: () => core.stats(),
    engine: core.engine,
    close() {
      ctx.sessions.closeAll();
      ctx.sessions.stop();
      // Withdraws this node's pullers from the cluster and closes the Redis connections.
      void core.engine.close();
    },
  };
}

function upgradeRequired(): Response {
  return errorResponse(426, 'this route takes a WebSocket (send Upgrade: websocket)', { upgrade: 'websocket' });
}
