/**
 * Auth on a broker created in process (`createBroker` from mod.ts, mounted in a host Hono app),
 * driven through `app.request`: the routes under the mount want tokens, the host's in-process
 * calls (`publishTopicMessage`, `addTopicSubscriber`, `pushMessage`) are not checked, and key
 * options are taken as text (a file needs the standalone server's reader).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { upgradeWebSocket } from '../src/adapters/node/upgrade.ts';
import { createBroker, type MessageData } from '../mod.ts';
import { SECRET, bearer, claims, ecKeys, hs256, jwk, signKid, signPem } from './helpers/tokens.ts';

describe('a mounted broker with auth on', () => {
  it('routes under the mount want a granted token; the host publishes and subscribes freely', async () => {
    const app = new Hono();
    const broker = createBroker({ upgradeWebSocket, mode: 'production', jwtSecret: SECRET, log: () => {} });
    app.route('/broker', broker.app);
    const received: MessageData[] = [];
    broker.addTopicSubscriber('news', (data) => void received.push(data));

    assert.equal((await app.request('/broker/pub/news', { method: 'POST', body: 'no token' })).status, 401);
    const reader = await hs256(claims({ sub: ['news'] }));
    const forbidden = await app.request('/broker/pub/news', { method: 'POST', body: 'not granted', headers: bearer(reader) });
    assert.equal(forbidden.status, 403);
    const writer = await hs256(claims({ pub: ['news'] }));
    assert.equal((await app.request('/broker/pub/news/today', { method: 'POST', body: 'granted', headers: bearer(writer) })).status, 200);
    broker.publishTopicMessage('news', 'from the host');
    assert.equal(await broker.pushMessage('jobs', 'a job for later'), 'queued');
    assert.deepEqual(received, ['granted', 'from the host']);
    assert.equal((await app.request('/broker/healthz')).status, 200);
    assert.equal((await app.request('/broker/stats')).status, 401);
    broker.close();
  });

  it('takes the PEM text and the JWKS JSON text; a file name without a reader is refused at once', async () => {
    const ec = ecKeys();
    const jwks = JSON.stringify({ keys: [jwk(ec, 'ES256', 'k1')] });
    const byPem = createBroker({ upgradeWebSocket, jwtPublicKey: ec.publicPem, log: () => {} });
    const byJwks = createBroker({ upgradeWebSocket, jwks, log: () => {} });
    const post = (broker: typeof byPem, token: string) => broker.app.request('/pub/x', { method: 'POST', body: 'm', headers: bearer(token) });
    assert.equal((await post(byPem, await signPem(claims({ pub: ['x'] }), ec, 'ES256'))).status, 200);
    assert.equal((await post(byJwks, await signKid(claims({ pub: ['x'] }), ec, 'ES256', 'k1'))).status, 200);
    byPem.close();
    byJwks.close();
    assert.throws(() => createBroker({ upgradeWebSocket, jwtPublicKey: 'keys/issuer.pem' }), /jwtPublicKey: createBroker takes the PEM text/);
    assert.throws(() => createBroker({ upgradeWebSocket, jwks: 'keys/jwks.json' }), /jwks: createBroker takes a URL or the JSON text/);
  });
});
