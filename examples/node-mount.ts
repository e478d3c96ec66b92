/**
 * The broker mounted under `/broker` in your own Hono service on Node, next to your own routes.
 *
 *   npx tsx examples/node-mount.ts -l http://127.0.0.1:8080
 *
 * Takes the broker's flags (`-l` picks the address, port 0 a free one; `--max-message-size`, ...).
 * In your project, import from 'broker-hono' instead of '../mod.ts'.
 *
 * `@hono/node-ws` answers a refused upgrade (bad topic 400, origin 401, full 503) with the right
 * status but no body: it writes only a status line. Plain HTTP refusals keep their JSON body. The
 * standalone broker (`npx broker-hono`) owns its upgrades and keeps the body on both.
 */
import { serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { brokerOptionsFromArgs, createBroker, UsageError } from '../mod.ts';

const app = new Hono();
app.get('/', (c) => c.text('my service: the broker is under /broker\n'));
app.get('/hello/:name', (c) => c.json({ hello: c.req.param('name') }));

let options;
try {
  options = brokerOptionsFromArgs(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`node-mount: ${error.message}`);
  process.exit(2);
}

const { upgradeWebSocket, injectWebSocket, wss } = createNodeWebSocket({ app });
// node-ws leaves ws's 100 MiB default: refuse bigger frames while they arrive (close 1009).
wss.options.maxPayload = options.maxMessageSize;
const broker = createBroker({ ...options, upgradeWebSocket });
app.route('/broker', broker.app);

// Your own routes can use the broker too: publish from a handler.
app.post('/announce', async (c) => {
  const delivered = broker.publishTopicMessage('announcements', await c.req.text());
  return c.json({ delivered });
});

const address = /^http:\/\/(.+):(\d+)$/.exec(options.listen[0]!)!;
const host = address[1] === '*' ? undefined : address[1]!.replace(/^\[|\]$/g, '');
const server = serve({ fetch: app.fetch, hostname: host, port: Number(address[2]) }, (info) => {
  console.log(`Listening at http://${host === undefined ? '*' : host.includes(':') ? `[${host}]` : host}:${info.port}`);
});
server.on('error', (error: NodeJS.ErrnoException) => {
  console.error(`node-mount: cannot listen at ${options.listen[0]}: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`);
  process.exit(1);
});
injectWebSocket(server);

// SIGINT/SIGTERM: every broker socket gets 1001, then exit 0 once they have closed (at most 3 s).
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  broker.close();
  server.close();
  const deadline = Date.now() + 3000;
  while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
