/**
 * Auth in cluster mode: two Node CLI nodes with the same `--jwt-secret`, issuer and audience on
 * one real redis-server (helpers/cluster.ts). A token is honoured the same way by both nodes: a
 * subscriber on node A hears a publisher on node B when both tokens grant it, and every refusal
 * reads the same whichever node gives it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoNodeCluster, type ClusterServer } from './helpers/cluster.ts';
import { TestClient } from './helpers/ws-client.ts';
import { openSse } from './helpers/sse-client.ts';
import { AUDIENCE, ISSUER, SECRET, bearer, claims, hs256, now, unsignedToken } from './helpers/tokens.ts';

describe('two-node cluster with the same key', () => {
  let cluster: ClusterServer;
  before(async () => {
    cluster = (await twoNodeCluster(['--jwt-secret', SECRET, '--jwt-issuer', ISSUER, '--jwt-audience', AUDIENCE])) as ClusterServer;
  });
  after(async () => {
    await cluster?.stop('SIGKILL');
  });
  const nodes = () => [
    { name: 'A', httpUrl: cluster.httpUrl, wsUrl: cluster.wsUrl },
    { name: 'B', ...cluster.sending },
  ];

  it('a subscriber on node A hears publishers on node B, each with its own token', async () => {
    const reader = await hs256(claims({ sub: ['room'], pull: ['jobs'] }));
    const writer = await hs256(claims({ pub: ['room'], push: ['jobs'] }));
    const socket = new TestClient(`${cluster.wsUrl}/sub/room`, { headers: bearer(reader) });
    await socket.opened;
    const stream = await openSse(`${cluster.httpUrl}/sub/room?access_token=${reader}`);
    const puller = new TestClient(`${cluster.wsUrl}/pull/jobs`, { headers: bearer(reader) });
    await puller.opened;
    const publisher = new TestClient(`${cluster.sending.wsUrl}/pub/room/1`, { headers: bearer(writer) });
    await publisher.opened;
    await publisher.send('from B over ws');
    const posted = await fetch(`${cluster.sending.httpUrl}/pub/room/2`, { method: 'POST', body: 'from B by post', headers: bearer(writer) });
    assert.equal(posted.status, 200);
    assert.deepEqual((await socket.waitFor(2, 10_000)).map((m) => m.data), ['from B over ws', 'from B by post']);
    assert.deepEqual((await stream.waitForEvents(2, 10_000)).map((e) => e.data), ['from B over ws', 'from B by post']);
    const pushed = await fetch(`${cluster.sending.httpUrl}/push/jobs`, { method: 'POST', body: 'job', headers: bearer(writer) });
    assert.equal(pushed.status, 200);
    assert.equal((await puller.waitFor(1, 10_000))[0]!.data, 'job');
    stream.close();
    await Promise.all([socket.close(), puller.close(), publisher.close()]);
  });

  it('both nodes give every token the same answer', async () => {
    const cases: Array<[string, string | undefined, number]> = [
      ['granted', await hs256(claims({ pub: ['room'] })), 200],
      ['not granted', await hs256(claims({ pub: ['other'], sub: ['room'] })), 403],
      ['expired', await hs256(claims({ pub: ['room'] }, { exp: now() - 1 })), 401],
      ['another secret', await hs256(claims({ pub: ['room'] }), 'another secret, also forty characters long'), 401],
      ['alg none', unsignedToken(claims({ pub: ['room'] })), 401],
      ['wrong audience', await hs256(claims({ pub: ['room'] }, { aud: 'x' })), 401],
      ['no token', undefined, 401],
    ];
    for (const [what, token, status] of cases) {
      const answers = await Promise.all(
        nodes().map(async (node) => {
          const response = await fetch(`${node.httpUrl}/pub/room`, { method: 'POST', body: 'm', headers: token ? bearer(token) : {} });
          return { status: response.status, body: await response.text(), challenge: response.headers.get('www-authenticate') };
        }),
      );
      assert.equal(answers[0]!.status, status, `${what} on A: ${answers[0]!.body}`);
      assert.deepEqual(answers[1], answers[0], `${what}: node B answers as node A`);
    }
  });
});
