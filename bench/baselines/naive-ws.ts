/**
 * Baseline: the obvious Node broker on `ws`. A Map of topic → Set of sockets, and `ws.send` for
 * every subscriber of the topic and each ancestor: a new frame and a write per subscriber per
 * message. Same routes as the broker for what the benchmark uses (`/sub/*`, `/pub/*`).
 *
 * node --import tsx bench/baselines/naive-ws.ts [port]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

const topics = new Map<string, Set<WebSocket>>();

function ancestors(topic: string): string[] {
  const parts = topic.split('/');
  const list: string[] = [];
  for (let i = parts.length; i > 0; i--) list.push(parts.slice(0, i).join('/'));
  return list;
}

const server = createServer((_request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
wss.on('connection', (ws, request) => {
  const path = decodeURIComponent((request.url ?? '/').split('?')[0]!);
  if (path.startsWith('/sub/')) {
    const topic = path.slice(5);
    let set = topics.get(topic);
    if (!set) topics.set(topic, (set = new Set()));
    set.add(ws);
    ws.on('close', () => {
      set.delete(ws);
      if (set.size === 0 && topics.get(topic) === set) topics.delete(topic);
    });
  } else if (path.startsWith('/pub/')) {
    const chain = ancestors(path.slice(5));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      for (const topic of chain) {
        const set = topics.get(topic);
        if (!set) continue;
        for (const subscriber of set) subscriber.send(data, { binary: isBinary });
      }
    });
  } else {
    ws.close(1008, 'unknown route');
  }
  ws.on('error', () => {});
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`Listening at http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
