/**
 * The broker mounted under `/broker` in your own Hono service on Bun, next to your own routes.
 *
 *   bun run examples/bun-mount.ts -l http://127.0.0.1:8080
 *
 * Takes the broker's flags (`-l` picks the address, port 0 a free one; `--max-message-size`, ...).
 * In your project, import from 'broker-hono' instead of '../mod.ts'.
 *
 * `hono/bun`'s `websocket` handler is spread into `Bun.serve` together with Bun's native limits,
 * set from the broker's options so that Bun enforces them before any JavaScript runs.
 */
import { Hono } from 'hono';
import { upgradeWebSocket, websocket } from 'hono/bun';
import { brokerOptionsFromArgs, createBroker, UsageError } from '../mod.ts';

const app = new Hono();
app.get('/', (c) => c.text('my service: the broker is under /broker\n'));
app.get('/hello/:name', (c) => c.json({ hello: c.req.param('name') }));

let options;
try {
  options = brokerOptionsFromArgs(Bun.argv.slice(2), Bun.env);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`bun-mount: ${error.message}`);
  process.exit(2);
}

const broker = createBroker({ ...options, upgradeWebSocket });
app.route('/broker', broker.app);

// Your own routes can use the broker too: publish from a handler.
app.post('/announce', async (c) => {
  const delivered = broker.publishTopicMessage('announcements', await c.req.text());
  return c.json({ delivered });
});

const address = /^http:\/\/(.+):(\d+)$/.exec(options.listen[0]!)!;
const host = address[1] === '*' ? undefined : address[1]!.replace(/^\[|\]$/g, '');
let server: Bun.Server<unknown>;
try {
  server = Bun.serve({
    hostname: host ?? '::',
    port: Number(address[2]),
    fetch: async (request, server) => {
      const response = await app.fetch(request, server);
      // Bun ends a response that sends nothing for its idleTimeout (10 s); an SSE stream is quiet
      // between messages and pings, and the broker watches its liveness itself.
      if (response.headers.get('content-type') === 'text/event-stream') server.timeout(request, 0);
      return response;
    },
    websocket: {
      ...websocket,
      maxPayloadLength: options.maxMessageSize, // a bigger frame closes the socket with 1009
      backpressureLimit: options.maxBufferedBytes + options.maxMessageSize, // the broker closes slow consumers (1013) first
      closeOnBackpressureLimit: false,
      // Bun pings a silent socket and closes it after idleTimeout seconds without an answer
      // (whole seconds, at most 960).
      sendPings: true,
      idleTimeout: Math.min(960, Math.max(8, Math.ceil(2 * options.pingInterval))),
    },
  });
} catch (error) {
  const reason = (error as { code?: string }).code === 'EADDRINUSE' ? 'address already in use' : (error as Error).message;
  console.error(`bun-mount: cannot listen at ${options.listen[0]}: ${reason}`);
  process.exit(1);
}
console.log(`Listening at http://${host === undefined ? '*' : host.includes(':') ? `[${host}]` : host}:${server.port}`);

// SIGINT/SIGTERM: every broker socket gets 1001, then exit 0 (at most 3 s).
let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  broker.close();
  setTimeout(() => process.exit(0), 3000);
  void server.stop().then(() => process.exit(0));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
