import { Hono } from 'hono';
import { mountBroker } from 'broker-hono/bun';

const app = new Hono();
app.get('/', (c) => c.text('my service'));

const broker = mountBroker(app, '/broker');
const server = Bun.serve({ port: 8080, fetch: broker.fetch, websocket: broker.websocket });
console.log(`Listening at ${server.url}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void broker.shutdown().then(() => process.exit(0)));
