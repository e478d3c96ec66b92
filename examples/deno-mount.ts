import { Hono } from 'hono';
import { mountBroker } from 'broker-hono/deno';

const app = new Hono();
app.get('/', (c) => c.text('my service'));

const broker = mountBroker(app, '/broker');
for (const signal of ['SIGINT', 'SIGTERM'] as const) Deno.addSignalListener(signal, () => void broker.shutdown().then(() => Deno.exit(0)));
Deno.serve({ port: 8080 }, app.fetch);
