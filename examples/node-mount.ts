import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { mountBroker } from 'broker-hono/node';

const app = new Hono();
app.get('/', (c) => c.text('my service'));

const broker = mountBroker(app, '/broker');
broker.attach(serve({ fetch: app.fetch, port: 8080 }, (info) => console.log(`Listening at http://localhost:${info.port}`)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void broker.shutdown().then(() => process.exit(0)));
