/**
 * Baseline: the obvious Deno broker: `Deno.serve`, `Deno.upgradeWebSocket`, a Map of topic → Set
 * of sockets, and `socket.send` per subscriber of the topic and each ancestor.
 *
 * deno run -A bench/baselines/naive-deno.ts [port]
 */
interface DenoApi {
  serve(
    options: { hostname: string; port: number; onListen(address: { port: number }): void },
    handler: (request: Request) => Response,
  ): unknown;
  upgradeWebSocket(request: Request): { socket: WebSocket; response: Response };
  args: string[];
  exit(code: number): never;
  addSignalListener(signal: string, handler: () => void): void;
}
const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const topics = new Map<string, Set<WebSocket>>();

function ancestors(topic: string): string[] {
  const parts = topic.split('/');
  const list: string[] = [];
  for (let i = parts.length; i > 0; i--) list.push(parts.slice(0, i).join('/'));
  return list;
}

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: Number(Deno.args[0] ?? 0),
    onListen: ({ port }) => console.log(`Listening at http://127.0.0.1:${port}`),
  },
  (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const kind = path.startsWith('/sub/') ? 'sub' : path.startsWith('/pub/') ? 'pub' : '';
    if (!kind) return new Response('not found', { status: 404 });
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('upgrade required', { status: 426 });
    const topic = path.slice(5);
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = 'arraybuffer';
    if (kind === 'sub') {
      socket.onopen = () => {
        let set = topics.get(topic);
        if (!set) topics.set(topic, (set = new Set()));
        set.add(socket);
      };
      socket.onclose = () => {
        const set = topics.get(topic);
        set?.delete(socket);
        if (set?.size === 0) topics.delete(topic);
      };
    } else {
      const chain = ancestors(topic);
      socket.onmessage = (event) => {
        for (const name of chain) {
          const set = topics.get(name);
          if (!set) continue;
          for (const subscriber of set) subscriber.send(event.data);
        }
      };
    }
    socket.onerror = () => {};
    return response;
  },
);
Deno.addSignalListener('SIGTERM', () => Deno.exit(0));
