/**
 * Baseline: the obvious Bun broker on Bun's native pub/sub (uWebSockets underneath): a subscriber
 * socket subscribes to its topic natively, and each published frame goes out with
 * `server.publish` once per ancestor topic. Bun frames each message once and corks every socket
 * per event-loop turn by itself, which is what makes this the bar for our Bun adapter.
 *
 * bun run bench/baselines/naive-bun.ts [port]
 */
interface BunSocket {
  data: { kind: string; topic: string; chain: string[] };
  subscribe(topic: string): void;
  close(code?: number, reason?: string): void;
}
interface BunServer {
  port: number;
  upgrade(request: Request, options: { data: BunSocket['data'] }): boolean;
  publish(topic: string, data: string | Uint8Array): number;
}
const Bun = (globalThis as unknown as { Bun: { serve(options: object): BunServer } }).Bun;

function ancestors(topic: string): string[] {
  const parts = topic.split('/');
  const list: string[] = [];
  for (let i = parts.length; i > 0; i--) list.push(parts.slice(0, i).join('/'));
  return list;
}

const server: BunServer = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  fetch(request: Request, server: BunServer) {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const kind = path.startsWith('/sub/') ? 'sub' : path.startsWith('/pub/') ? 'pub' : '';
    if (!kind) return new Response('not found', { status: 404 });
    const topic = path.slice(5);
    if (server.upgrade(request, { data: { kind, topic, chain: ancestors(topic) } })) return undefined;
    return new Response('upgrade required', { status: 426 });
  },
  websocket: {
    maxPayloadLength: 1024 * 1024,
    perMessageDeflate: false,
    open(ws: BunSocket) {
      if (ws.data.kind === 'sub') ws.subscribe(ws.data.topic);
    },
    message(ws: BunSocket, message: string | Uint8Array) {
      if (ws.data.kind !== 'pub') return;
      for (const topic of ws.data.chain) server.publish(topic, message);
    },
  },
});
console.log(`Listening at http://127.0.0.1:${server.port}`);
process.on('SIGTERM', () => process.exit(0));
