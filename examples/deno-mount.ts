/**
 * The broker mounted under `/broker` in your own Hono service on Deno, next to your own routes.
 *
 *   deno run -P examples/deno-mount.ts -l http://127.0.0.1:8080
 *
 * Takes the broker's flags (`-l` picks the address, port 0 a free one; `--max-message-size`, ...).
 * In your project, import from 'broker-hono' (npm:broker-hono) instead of '../mod.ts'.
 *
 * Pings come from Deno itself: `Deno.upgradeWebSocket`'s `idleTimeout` (30 s unless changed, the
 * broker's default `pingInterval`) pings a peer silent that long and closes it if it stays silent
 * as long again. The standalone broker (`deno task start`) sets it from `pingInterval`.
 */
import { Hono } from 'hono';
import { upgradeWebSocket } from 'hono/deno';
import { brokerOptionsFromArgs, createBroker, UsageError } from '../mod.ts';

const app = new Hono();
app.get('/', (c) => c.text('my service: the broker is under /broker\n'));
app.get('/hello/:name', (c) => c.json({ hello: c.req.param('name') }));

let options;
try {
  options = brokerOptionsFromArgs(Deno.args, { BROKER_LISTEN: Deno.env.get('BROKER_LISTEN') });
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`deno-mount: ${error.message}`);
  Deno.exit(2);
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
let server: Deno.HttpServer<Deno.NetAddr>;
try {
  server = Deno.serve({ hostname: host ?? '::', port: Number(address[2]), onListen() {} }, app.fetch);
} catch (error) {
  const reason = error instanceof Deno.errors.AddrInUse ? 'address already in use' : (error as Error).message;
  console.error(`deno-mount: cannot listen at ${options.listen[0]}: ${reason}`);
  Deno.exit(1);
}
console.log(`Listening at http://${host === undefined ? '*' : host.includes(':') ? `[${host}]` : host}:${server.addr.port}`);

// SIGINT/SIGTERM: every broker socket gets 1001, then exit 0 (at most 3 s).
let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  broker.close();
  setTimeout(() => Deno.exit(0), 3000);
  void server.shutdown().then(() => Deno.exit(0));
}
Deno.addSignalListener('SIGINT', stop);
Deno.addSignalListener('SIGTERM', stop);
