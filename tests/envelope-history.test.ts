/**
 * The envelope, ids, history and resume on the wire (README "Envelope" and "Ids, history and
 * resume"), black-box against the CLI on Node, Deno and Bun (each runtime's own send path: the
 * Node fast path, Bun's native pub/sub, Deno's sockets) and a broker mounted under a prefix:
 * `?format=json` on `/sub`, `/bus` and `/pull`; `?since=` with its gap notice; the same over SSE
 * with `id:` fields and `Last-Event-ID`; the refusals; the history counters in `/stats` and
 * `/metrics`.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli, denoCli, nodeMounted } from './helpers/runtimes.ts';
import { open, refusedUpgrade } from './helpers/ws-client.ts';
import { openSse } from './helpers/sse-client.ts';
import { waitUntil } from './helpers/checks.ts';

const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
});

async function post(server: RunningServer, path: string, body: string | Uint8Array<ArrayBuffer>, binary = false): Promise<void> {
  const response = await fetch(`${server.httpUrl}${path}`, { method: 'POST', body, headers: binary ? { 'content-type': 'application/octet-stream' } : {} });
  assert.equal(response.status, 200, await response.text());
}

interface Envelope {
  id: string;
  topic: string;
  data?: string;
  base64?: string;
  time: number;
}

const json = (text: unknown) => JSON.parse(String(text)) as Envelope & Record<string, unknown>;
const ID = /^[0-9a-z]{1,32}-[1-9][0-9]*$/;

const LAUNCHERS: Array<[string, Launcher]> = [
  ['Node CLI', nodeCli],
  ['Deno CLI', denoCli],
  ['Bun CLI', bunCli],
  ['Node, mounted under /broker', nodeMounted],
];

for (const [name, launch] of LAUNCHERS) {
  describe(`envelope and resume on the ${name}`, () => {
    let server: RunningServer;
    const start = async () => {
      server ??= await launch(['--history-size', '3']);
      servers.push(server);
      return server;
    };

    it('?format=json: one text frame per message with id, topic, data or base64, and time; raw beside it is unchanged', async () => {
      const server = await start();
      const subscriber = await open(`${server.wsUrl}/sub/wong?format=json`);
      const raw = await open(`${server.wsUrl}/sub/wong`);
      const before = Date.now();
      await post(server, '/pub/wong/amy', 'hello "amy"\n');
      await post(server, '/pub/wong', new Uint8Array([0, 1, 254, 255]), true);
      const [position, text, binary] = await subscriber.waitFor(3);
      assert.equal(text!.binary, false);
      assert.equal(binary!.binary, false, 'binary messages come as text frames too (base64)');
      const first = json(text!.data);
      const second = json(binary!.data);
      assert.deepEqual(Object.keys(first), ['id', 'topic', 'data', 'time']);
      assert.deepEqual({ topic: first.topic, data: first.data }, { topic: 'wong/amy', data: 'hello "amy"\n' });
      assert.deepEqual(Object.keys(second), ['id', 'topic', 'base64', 'time']);
      assert.deepEqual({ topic: second.topic, base64: second.base64 }, { topic: 'wong', base64: 'AAH+/w==' });
      assert.match(first.id, ID);
      // First of all, where the subscription starts: wong's stream had nothing yet, so offset 0
      // of the epoch its first message then has.
      assert.deepEqual(json(position!.data), { type: 'position', topic: 'wong', id: `${first.id.split('-')[0]}-0` });
      assert.equal(second.id.split('-')[0], first.id.split('-')[0], 'one epoch for the stream of wong');
      assert.equal(Number(second.id.split('-')[1]), Number(first.id.split('-')[1]) + 1, 'consecutive offsets');
      assert.ok(first.time >= before - 1000 && first.time <= Date.now() + 1000, `time ${first.time}`);
      const rawFrames = await raw.waitFor(2);
      assert.deepEqual(rawFrames.map((m) => m.data), ['hello "amy"\n', Buffer.from([0, 1, 254, 255])]);
      subscriber.close();
      raw.close();
    });

    it('?since=: the gap notice first, with its exact count, then what history holds, then live; SSE the same with id: fields', async () => {
      const server = await start();
      const first = await open(`${server.wsUrl}/sub/resume?format=json`);
      await post(server, '/pub/resume/a', 'm1');
      const [position, m1] = (await first.waitFor(2)).map((m) => json(m.data));
      const since = m1!.id;
      assert.deepEqual(position, { type: 'position', topic: 'resume', id: `${since.split('-')[0]}-0` });
      first.close();
      for (let i = 2; i <= 8; i++) await post(server, '/pub/resume/a', `m${i}`);
      const epoch = since.split('-')[0];
      const again = await open(`${server.wsUrl}/sub/resume?format=json&since=${since}`);
      const frames = (await again.waitFor(4)).map((m) => json(m.data));
      assert.deepEqual(frames[0], { type: 'gap', topic: 'resume', since, reason: 'trimmed', missed: 4, until: `${epoch}-5` });
      assert.deepEqual(frames.slice(1).map((f) => [f.id, f.data]), [
        [`${epoch}-6`, 'm6'],
        [`${epoch}-7`, 'm7'],
        [`${epoch}-8`, 'm8'],
      ]);
      await post(server, '/pub/resume', 'live');
      assert.equal(json((await again.waitFor(5))[4]!.data).data, 'live');
      again.close();

      // SSE: Last-Event-ID, as a browser's EventSource sends it; history on, so raw events carry ids.
      const sse = await openSse(`${server.httpUrl}/sub/resume`, { 'last-event-id': `${epoch}-7` });
      await sse.waitForEvents(2);
      await post(server, '/pub/resume', 'live 2');
      await sse.waitForEvents(3);
      assert.match(sse.body, new RegExp(`id: ${epoch}-8\ndata: m8\n\nid: ${epoch}-9\ndata: live\n\nid: ${epoch}-10\ndata: live 2\n\n`));
      sse.close();
      const jsonSse = await openSse(`${server.httpUrl}/sub/resume?format=json&since=${since}`);
      const events = await jsonSse.waitForEvents(4);
      assert.equal(events[0]!.event, 'gap');
      assert.deepEqual(JSON.parse(events[0]!.data), { type: 'gap', topic: 'resume', since, reason: 'trimmed', missed: 6, until: `${epoch}-7` });
      assert.deepEqual(events.slice(1).map((e) => [e.event, json(e.data).id, json(e.data).data]), [
        ['message', `${epoch}-8`, 'm8'],
        ['message', `${epoch}-9`, 'live'],
        ['message', `${epoch}-10`, 'live 2'],
      ]);
      assert.match(jsonSse.body, new RegExp(`id: ${epoch}-9\ndata: \\{"id":"${epoch}-9","topic":"resume","data":"live"`));
      jsonSse.close();
    });

    it('bus and pull in JSON: envelopes with the topic and ids of this broker', async () => {
      const server = await start();
      const amy = await open(`${server.wsUrl}/bus/room?format=json&echo=1`);
      const leo = await open(`${server.wsUrl}/bus/room`);
      await leo.send('from leo');
      await amy.send('from amy');
      const heard = (await amy.waitFor(2)).map((m) => json(m.data));
      assert.deepEqual(heard.map((m) => [m.topic, m.data]), [
        ['room', 'from leo'],
        ['room', 'from amy'],
      ]);
      assert.match(heard[0]!.id, ID);
      assert.notEqual(heard[0]!.id, heard[1]!.id);
      assert.deepEqual((await leo.waitFor(1)).map((m) => m.data), ['from amy']);
      const puller = await open(`${server.wsUrl}/pull/jobs?format=json`);
      await post(server, '/push/jobs', new Uint8Array([7]), true);
      const job = json((await puller.waitFor(1))[0]!.data);
      assert.deepEqual([job.topic, job.base64], ['jobs', 'Bw==']);
      for (const socket of [amy, leo, puller]) socket.close();
    });

    it('refusals: an unknown format, since on a raw WebSocket subscriber, since anywhere but /sub', async () => {
      const server = await start();
      const cases: Array<[string, RegExp]> = [
        ['/sub/t?format=xml', /format must be json or raw/],
        ['/sub/t?since=abc-1', /since needs format=json/],
        ['/sub/t?format=raw&since=abc-1', /since needs format=json/],
        ['/bus/t?format=json&since=abc-1', /since is only for \/sub/],
        ['/pull/t?format=json&since=abc-1', /since is only for \/sub/],
      ];
      for (const [path, error] of cases) {
        const refused = await refusedUpgrade(`${server.wsUrl}${path}`);
        assert.equal(refused.status, 400, path);
        if (refused.body) assert.match(JSON.parse(refused.body).error, error, path);
      }
      const sse = await fetch(`${server.httpUrl}/sub/t?format=xml`, { headers: { accept: 'text/event-stream' } });
      assert.equal(sse.status, 400);
    });

    it('/stats and /metrics count what history holds', async () => {
      const server = await start();
      await post(server, '/pub/counted/a/b', 'x'.repeat(100));
      const counted = await stats(server);
      assert.ok(counted.historyTopics >= 3, JSON.stringify(counted));
      assert.ok(counted.historyMessages >= 1 && counted.historyBytes > 100, JSON.stringify(counted));
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      assert.match(metrics, new RegExp(`^broker_history_messages ${counted.historyMessages}$`, 'm'));
      assert.match(metrics, /^# TYPE broker_history_bytes gauge$/m);
      await waitUntil('history counters in /stats', async () => (await stats(server)).historyTopics === counted.historyTopics);
    });
  });
}
