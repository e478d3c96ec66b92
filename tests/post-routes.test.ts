/**
 * The POST routes (src/app/create-broker.ts) in-process through `app.request`: a topic is parsed
 * and validated once, by the route's guard, and the core is handed the validated name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { upgradeWebSocket } from '../src/adapters/node/upgrade.ts';
import { createBroker, type MessageData } from '../mod.ts';

describe('POST /pub', () => {
  it('publishes through the validated topic without asking the core to parse it again', async () => {
    const broker = createBroker({ upgradeWebSocket, mode: 'production', log: () => {} });
    const received: Array<[string, MessageData]> = [];
    broker.addTopicSubscriber('news', (data, topic) => received.push([topic, data]));
    // The public, validating entry must not be the route's way in (it would parse the topic a
    // second time): make it fail loudly if it is used.
    broker.context.core.publishTopicMessage = () => {
      throw new Error('POST /pub parsed its topic twice (went through publishTopicMessage)');
    };
    const response = await broker.app.request('/pub/news/today', { method: 'POST', body: 'hello' });
    assert.equal(response.status, 200, await response.text());
    assert.deepEqual(received, [['news/today', 'hello']]);
    broker.close();
  });

  it('still refuses an invalid topic with 400 before anything is published', async () => {
    const broker = createBroker({ upgradeWebSocket, mode: 'production', log: () => {} });
    const received: MessageData[] = [];
    broker.addTopicSubscriber('news', (data) => received.push(data));
    const response = await broker.app.request('/pub/news//today', { method: 'POST', body: 'hello' });
    assert.equal(response.status, 400);
    assert.match((await response.json()).error, /empty segment/);
    assert.deepEqual(received, []);
    broker.close();
  });
});
