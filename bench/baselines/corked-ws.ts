/**
 * Baseline: the Node ceiling. The naive `ws` server with two changes: each message is framed
 * once (`Sender.frame`, the same bytes for every subscriber) and each subscriber's TCP socket is
 * corked until the end of the current event-loop turn, so it gets one write per turn however
 * many messages arrived. No limits, no counters: what our broker is measured against for the
 * cost of its semantics.
 *
 * node --import tsx bench/baselines/corked-ws.ts [port]
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as wsModule from 'ws';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

// `Sender` is exported by ws but not described by its types.
const frame = (wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender.frame;
const topics = new Map<string, Set<Socket>>();
const corked: Socket[] = [];

function ancestors(topic: string): string[] {
  const parts = topic.split('/');
  const list: string[] = [];
  for (let i = parts.length; i > 0; i--) list.push(parts.slice(0, i).join('/'));
  return list;
}

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

const server = createServer((_request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
wss.on('connection', (ws: WebSocket, request) => {
  const path = decodeURIComponent((request.url ?? '/').split('?')[0]!);
  const raw = (ws as unknown as { _socket: Socket })._socket;
  if (path.startsWith('/sub/')) {
    const topic = path.slice(5);
    let set = topics.get(topic);
    if (!set) topics.set(topic, (set = new Set()));
    set.add(raw);
    ws.on('close', () => {
      set.delete(raw);
      if (set.size === 0 && topics.get(topic) === set) topics.delete(topic);
    });
  } else if (path.startsWith('/pub/')) {
    const chain = ancestors(path.slice(5));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const [header, payload] = frame(data as Buffer, { fin: true, opcode: isBinary ? 2 : 1, mask: false, readOnly: false });
      for (const topic of chain) {
        const set = topics.get(topic);
        if (!set) continue;
        for (const socket of set) {
          if (socket.writableCorked === 0) {
            if (corked.length === 0) process.nextTick(uncorkAll);
            socket.cork();
            corked.push(socket);
          }
          socket.write(header!);
          if (payload) socket.write(payload);
        }
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
