/**
 * The auth black-box suite (README, "Security"): real signed tokens against a real broker process,
 * over WebSocket, SSE and POST, run against any launcher (Node, Deno, Bun). Three brokers, each
 * with another kind of key:
 *
 * - `--jwt-secret` with `--jwt-issuer` and `--jwt-audience` (HS256): the matrix of actions ×
 *   granted / not granted, every 401 case, header and query, large tokens, grants at the root and
 *   deep in the hierarchy, admin routes, expiry during a live WebSocket and a live SSE stream;
 * - `--jwt-public-key` (RSA, RS256) with `--jwks` served on loopback by this test (ES256 by `kid`,
 *   rotated while the broker runs), and the key-confusion attack;
 * - `--jwt-public-key` (EC, ES256) with `--jwks` from a file (EdDSA by `kid`).
 *
 * At the end, no token (nor any part of one) appears in the broker's output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Launcher, RunningServer } from './server.ts';
import { TestClient, refusedUpgrade } from './ws-client.ts';
import { SseClient, openSse, refusedSse } from './sse-client.ts';
import { waitUntil } from './checks.ts';
import {
  AUDIENCE, ISSUER, SECRET, bearer, claims, ecKeys, edKeys, hs256, jwk, keyConfusionToken, keyDirectory, now, rsaKeys, signKid, signPem, unsignedToken,
  type Grants, type KeyPair,
} from './tokens.ts';

type Action = 'sub' | 'pub' | 'bus' | 'push' | 'pull';
const ACTIONS: readonly Action[] = ['sub', 'pub', 'bus', 'push', 'pull'];

export interface AuthSuiteOptions {
  /**
   * What a request whose token alone passes 16 KB gets: `431` from Node's and Bun's HTTP layer
   * (their header limit), `401` from the broker where the HTTP layer takes it (Deno).
   */
  oversizedHeaderStatus: 401 | 431;
}

/** A refusal as a client sees it: status, JSON body, headers. */
interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) };
}

const CHALLENGE: Record<number, string> = {
  400: 'Bearer error="invalid_request"',
  401: 'Bearer error="invalid_token"',
  403: 'Bearer error="insufficient_scope"',
};

/** Asserts a refusal: the status, `{"error": …}` matching `reason`, and the Bearer challenge. */
function assertRefusal(answer: Answer, status: number, reason: RegExp, what: string): void {
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.body}`);
  const json = JSON.parse(answer.body) as { error?: unknown };
  assert.equal(typeof json.error, 'string', `${what}: ${answer.body}`);
  assert.match(json.error as string, reason, what);
  assert.equal(answer.headers['www-authenticate'], CHALLENGE[status], `${what}: WWW-Authenticate`);
}

/** One way to use an action: WebSocket, SSE or POST. */
interface Way {
  readonly action: Action;
  readonly label: string;
  /** Succeeds (the socket opens, the stream starts, the POST answers 200) or fails the test. */
  accept(token: string, topic: string): Promise<void>;
  refuse(token: string | undefined, topic: string): Promise<Answer>;
}

function waysOf(server: () => RunningServer): Way[] {
  const headers = (token: string | undefined) => (token === undefined ? {} : bearer(token));
  const socket = (action: Action): Way => ({
    action,
    label: `${action} over WebSocket`,
    async accept(token, topic) {
      const client = new TestClient(`${server().wsUrl}/${action}/${topic}`, { headers: headers(token) });
      await client.opened;
      await client.close();
    },
    refuse: (token, topic) => refusedUpgrade(`${server().wsUrl}/${action}/${topic}`, headers(token)),
  });
  const post = (action: Action): Way => ({
    action,
    label: `${action} by POST`,
    async accept(token, topic) {
      const answer = await answerOf(await fetch(`${server().httpUrl}/${action}/${topic}`, { method: 'POST', body: 'm', headers: headers(token) }));
      assert.equal(answer.status, 200, `POST /${action}/${topic}: ${answer.body}`);
    },
    refuse: async (token, topic) => answerOf(await fetch(`${server().httpUrl}/${action}/${topic}`, { method: 'POST', body: 'm', headers: headers(token) })),
  });
  const sse: Way = {
    action: 'sub',
    label: 'sub over SSE',
    async accept(token, topic) {
      const client = await openSse(`${server().httpUrl}/sub/${topic}`, headers(token));
      client.close();
    },
    refuse: (token, topic) => refusedSse(`${server().httpUrl}/sub/${topic}`, headers(token)),
  };
  return [socket('sub'), sse, socket('pub'), post('pub'), socket('bus'), post('bus'), socket('push'), post('push'), socket('pull')];
}

/** Every token the suite sent; none may show up in the broker's output. */
const sentTokens = new Set<string>();
function remember(token: string): string {
  sentTokens.add(token);
  return token;
}

/** Fails if any part of any token sent shows up in the broker's output. */
function assertNoTokenInOutput(server: RunningServer): void {
  const output = server.output();
  for (const token of sentTokens) {
    for (const part of token.split('.').filter((part) => part.length > 16)) {
      assert.ok(!output.includes(part), `the broker's output holds a token part: ${part.slice(0, 24)}…\n${output.slice(-2000)}`);
    }
  }
}

export function defineAuthSuite(name: string, launch: Launcher, options: AuthSuiteOptions): void {
  describe(`${name}: auth`, () => {
    describe('--jwt-secret with issuer and audience (HS256)', () => {
      let server: RunningServer | undefined;
      const broker = () => {
        assert.ok(server, 'broker started');
        return server;
      };
      before(async () => {
        server = await launch(['--jwt-secret', SECRET, '--jwt-issuer', ISSUER, '--jwt-audience', AUDIENCE]);
      });
      after(async () => {
        if (server) assertNoTokenInOutput(server);
        await server?.stop('SIGKILL');
      });
      const token = async (grants: Grants, extra?: Record<string, unknown>) => remember(await hs256(claims(grants, extra)));

      it('the matrix: each action on each route, granted (a grant above the topic) and not granted (every other action, a look-alike topic)', async () => {
        for (const way of waysOf(broker)) {
          const granted = await token({ [way.action]: ['m'] });
          await way.accept(granted, 'm/x/y');
          const others = Object.fromEntries(ACTIONS.filter((a) => a !== way.action).map((a) => [a, ['*']]));
          const notGranted = await token({ ...others, [way.action]: ['m/x/yy', 'mm'], admin: true });
          assertRefusal(await way.refuse(notGranted, 'm/x/y'), 403, new RegExp(`token does not grant ${way.action} on "m/x/y"`), way.label);
        }
      });

      it('granted clients work end to end: subscribers (WebSocket, SSE), publishers (WebSocket, POST), bus peers, push and pull', async () => {
        const subscriber = await token({ sub: ['e2e'] });
        const publisher = await token({ pub: ['e2e'], bus: ['e2e'], push: ['e2e'], pull: ['e2e'] });
        const ws = new TestClient(`${broker().wsUrl}/sub/e2e`, { headers: bearer(subscriber) });
        await ws.opened;
        const sse = await openSse(`${broker().httpUrl}/sub/e2e?access_token=${subscriber}`);
        const pub = new TestClient(`${broker().wsUrl}/pub/e2e/a`, { headers: bearer(publisher) });
        await pub.opened;
        await pub.send('over ws');
        const posted = await fetch(`${broker().httpUrl}/pub/e2e/b`, { method: 'POST', body: 'over post', headers: bearer(publisher) });
        assert.equal(posted.status, 200);
        assert.deepEqual((await ws.waitFor(2)).map((m) => m.data), ['over ws', 'over post']);
        assert.deepEqual((await sse.waitForEvents(2)).map((e) => e.data), ['over ws', 'over post']);
        const peerA = new TestClient(`${broker().wsUrl}/bus/e2e?access_token=${publisher}`);
        const peerB = new TestClient(`${broker().wsUrl}/bus/e2e`, { headers: bearer(publisher) });
        await Promise.all([peerA.opened, peerB.opened]);
        await peerA.send('to the bus');
        assert.equal((await peerB.waitFor(1))[0]!.data, 'to the bus');
        const puller = new TestClient(`${broker().wsUrl}/pull/e2e`, { headers: bearer(publisher) });
        await puller.opened;
        const pushed = await fetch(`${broker().httpUrl}/push/e2e`, { method: 'POST', body: 'a job', headers: bearer(publisher) });
        assert.equal(pushed.status, 200);
        assert.equal((await puller.waitFor(1))[0]!.data, 'a job');
        sse.close();
        await Promise.all([ws, pub, peerA, peerB, puller].map((client) => client.close()));
      });

      it('every 401: no token, bad signature, alg none, expired, nbf in the future, wrong issuer, wrong audience, malformed; over WebSocket, SSE and POST', async () => {
        const grants: Grants = { sub: ['*'], pub: ['*'] };
        const cases: Array<[string, string | undefined, RegExp]> = [
          ['no token', undefined, /token required/],
          ['bad signature', remember(await hs256(claims(grants), 'another secret, also forty characters long')), /bad signature/],
          ['alg none', remember(unsignedToken(claims(grants))), /algorithm "none" not accepted/],
          ['expired', await token(grants, { exp: now() - 1 }), /token expired/],
          ['nbf in the future', await token(grants, { nbf: now() + 3600 }), /not valid yet/],
          ['wrong issuer', await token(grants, { iss: 'https://elsewhere.test' }), /issuer/],
          ['wrong audience', await token(grants, { aud: 'another-service' }), /audience/],
          ['malformed', 'a.b.c', /malformed token/],
          ['an RS256 token on an HS256 broker', remember(await signPem(claims(grants), rsaKeys(), 'RS256')), /RS256 not accepted/],
        ];
        const ways = waysOf(broker).filter((way) => way.label === 'sub over WebSocket' || way.label === 'sub over SSE' || way.label === 'pub by POST');
        for (const [what, bad, reason] of cases) {
          for (const way of ways) assertRefusal(await way.refuse(bad, 'topic'), 401, reason, `${what}, ${way.label}`);
        }
      });

      it('the token in the header, in the query, the same in both; two different ones are 400', async () => {
        const good = await token({ sub: ['q'] });
        const other = await token({ sub: ['q'] }, { jti: 'another' });
        const url = `${broker().wsUrl}/sub/q`;
        for (const [what, target, headers] of [
          ['header', url, bearer(good)],
          ['query', `${url}?access_token=${good}`, {}],
          ['both, the same', `${url}?access_token=${good}`, bearer(good)],
          ['lower-case scheme', url, { authorization: `bearer ${good}` }],
        ] as const) {
          const client = new TestClient(target, { headers });
          await client.opened.catch((error: Error) => assert.fail(`${what}: ${error.message}`));
          await client.close();
        }
        assertRefusal(await refusedUpgrade(`${url}?access_token=${other}`, bearer(good)), 400, /two different tokens/, 'two tokens');
        // Another scheme is not a bearer token: as if there were none.
        assertRefusal(await refusedUpgrade(url, { authorization: 'Basic dXNlcjpwYXNz' }), 401, /token required/, 'Basic');
      });

      it(`a token over 8 KB works in the header and the query; over 12 KB it is refused (401); past 16 KB of headers it is ${options.oversizedHeaderStatus}`, async () => {
        // Base64url: the token is 4/3 the size of its JSON.
        const large = await token({ sub: ['big'], pub: ['big'] }, { padding: 'p'.repeat(7000) });
        assert.ok(large.length > 9 * 1024 && large.length < 12 * 1024, String(large.length));
        const viaHeader = new TestClient(`${broker().wsUrl}/sub/big`, { headers: bearer(large) });
        await viaHeader.opened;
        const viaQuery = await openSse(`${broker().httpUrl}/sub/big?access_token=${large}`);
        const posted = await fetch(`${broker().httpUrl}/pub/big`, { method: 'POST', body: 'large token', headers: bearer(large) });
        assert.equal(posted.status, 200);
        assert.equal((await viaHeader.waitFor(1))[0]!.data, 'large token');
        assert.equal((await viaQuery.waitForEvents(1))[0]!.data, 'large token');
        viaQuery.close();
        await viaHeader.close();

        const tooLarge = await token({ sub: ['big'] }, { padding: 'p'.repeat(10 * 1024) });
        assert.ok(tooLarge.length > 12 * 1024 && tooLarge.length < 15 * 1024, String(tooLarge.length));
        assertRefusal(await refusedUpgrade(`${broker().wsUrl}/sub/big`, bearer(tooLarge)), 401, /token larger than 12288 bytes/, '13 KB token');
        const huge = await token({ sub: ['big'] }, { padding: 'p'.repeat(15 * 1024) });
        assert.ok(huge.length > 16 * 1024, String(huge.length));
        const answer = await answerOf(await fetch(`${broker().httpUrl}/pub/big`, { method: 'POST', body: 'x', headers: bearer(huge) }));
        assert.equal(answer.status, options.oversizedHeaderStatus, answer.body);
      });

      it('grants at the root ("*") and deep in the hierarchy', async () => {
        const sub = waysOf(broker)[0]!;
        const root = await token({ sub: ['*'] });
        for (const topic of ['a', 'z/y/x/w', 'caf%C3%A9']) await sub.accept(root, topic);
        const deep = await token({ sub: ['a/b/c/d/e/f/g/h'] });
        await sub.accept(deep, 'a/b/c/d/e/f/g/h');
        await sub.accept(deep, 'a/b/c/d/e/f/g/h/i/j');
        for (const topic of ['a/b/c/d/e/f/g', 'a', 'a/b/c/d/e/f/g/hh']) assertRefusal(await sub.refuse(deep, topic), 403, /does not grant sub/, topic);
        // A grant names the decoded topic: "café" covers the percent-encoded path.
        await sub.accept(await token({ sub: ['café'] }), 'caf%C3%A9/x');
      });

      it('the token is checked before the topic; 426 only for a valid token and grant', async () => {
        assertRefusal(await answerOf(await fetch(`${broker().httpUrl}/sub/a//b`)), 401, /token required/, 'bad topic, no token');
        const good = await token({ sub: ['*'] });
        const badTopic = await answerOf(await fetch(`${broker().httpUrl}/sub/a//b`, { headers: bearer(good) }));
        assert.equal(badTopic.status, 400, badTopic.body);
        assert.equal((await fetch(`${broker().httpUrl}/sub/ok`, { headers: bearer(good) })).status, 426);
        assertRefusal(await answerOf(await fetch(`${broker().httpUrl}/pull/ok`, { headers: bearer(good) })), 403, /does not grant pull/, 'plain GET, no grant');
      });

      it('/stats and /metrics need admin, the demo page any valid token, /healthz none', async () => {
        const admin = await token({ admin: true });
        const user = await token({ sub: ['*'], pub: ['*'] });
        for (const path of ['/stats', '/metrics']) {
          assertRefusal(await answerOf(await fetch(`${broker().httpUrl}${path}`)), 401, /token required/, path);
          assertRefusal(await answerOf(await fetch(`${broker().httpUrl}${path}`, { headers: bearer(user) })), 403, /does not grant admin/, path);
          assert.equal((await fetch(`${broker().httpUrl}${path}`, { headers: bearer(admin) })).status, 200, path);
          assert.equal((await fetch(`${broker().httpUrl}${path}?access_token=${admin}`)).status, 200, path);
        }
        assertRefusal(await answerOf(await fetch(`${broker().httpUrl}/`)), 401, /token required/, 'demo page');
        const page = await fetch(`${broker().httpUrl}/?access_token=${user}`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /id="broker-token"/);
        assert.equal((await fetch(`${broker().httpUrl}/healthz`)).status, 200);
      });

      it('a live WebSocket and a live SSE stream are closed when their token expires: 4001 "token expired", event: error', async () => {
        const expiresSoon = await token({ sub: ['exp'], pub: ['exp'] }, { exp: now() + 2 });
        const socket = new TestClient(`${broker().wsUrl}/sub/exp`, { headers: bearer(expiresSoon) });
        const publisher = new TestClient(`${broker().wsUrl}/pub/exp`, { headers: bearer(expiresSoon) });
        const stream = new SseClient(`${broker().httpUrl}/sub/exp`, bearer(expiresSoon));
        await Promise.all([socket.opened, publisher.opened, stream.open()]);
        const closed = await Promise.race([socket.closed, new Promise<undefined>((resolve) => setTimeout(resolve, 5000))]);
        assert.deepEqual(closed, { code: 4001, reason: 'token expired' });
        assert.deepEqual(await publisher.closed, { code: 4001, reason: 'token expired' });
        await stream.waitForEnd(5000);
        assert.deepEqual(stream.events.at(-1), { event: 'error', data: 'token expired' });
        const admin = await token({ admin: true });
        await waitUntil('the expired connections counted out', async () => {
          const stats = (await (await fetch(`${broker().httpUrl}/stats`, { headers: bearer(admin) })).json()) as { connections: number };
          return stats.connections === 0;
        });
      });
    });

    describe('--jwt-public-key (RSA) with --jwks served on loopback', () => {
      let server: RunningServer | undefined;
      let jwksServer: Server;
      let served: { keys: unknown[] };
      const files = keyDirectory();
      let rsa: KeyPair;
      let ec: KeyPair;
      before(async () => {
        rsa = rsaKeys();
        ec = ecKeys();
        served = { keys: [jwk(ec, 'ES256', 'loop-1')] };
        jwksServer = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served)));
        await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
        const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
        server = await launch(['--jwt-public-key', files.write('rsa.pem', rsa.publicPem), '--jwks', jwksUrl]);
      });
      after(async () => {
        if (server) assertNoTokenInOutput(server);
        await server?.stop('SIGKILL');
        await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
        files.cleanup();
      });
      const sub = () => waysOf(() => server!)[0]!;

      it('RS256 with the public key; ES256 by kid from the JWKS', async () => {
        await sub().accept(remember(await signPem(claims({ sub: ['k'] }), rsa, 'RS256')), 'k');
        await sub().accept(remember(await signKid(claims({ sub: ['k'] }), ec, 'ES256', 'loop-1')), 'k');
      });

      it('the key-confusion attack (HS256 keyed with the public key PEM) is 401', async () => {
        const forged = remember(await keyConfusionToken(claims({ sub: ['*'], admin: true }), rsa.publicPem));
        assertRefusal(await sub().refuse(forged, 'k'), 401, /HS256 not accepted/, 'key confusion');
        assertRefusal(await sub().refuse(remember(await signPem(claims({ sub: ['*'] }), rsaKeys(), 'RS256')), 'k'), 401, /bad signature/, 'another RSA key');
      });

      it('a key added to the JWKS while the broker runs is fetched on its unknown kid', async () => {
        const next = edKeys();
        const rotated = remember(await signKid(claims({ sub: ['k'] }), next, 'EdDSA', 'loop-2'));
        served = { keys: [jwk(ec, 'ES256', 'loop-1'), jwk(next, 'EdDSA', 'loop-2')] };
        // One fetch per second at most for unknown kids: the first try may land in the cooldown.
        await waitUntil(
          'the rotated key accepted',
          async () => {
            try {
              await sub().accept(rotated, 'k');
              return true;
            } catch {
              return false;
            }
          },
          5000,
        );
      });
    });

    describe('--jwt-public-key (EC P-256) with --jwks from a file', () => {
      let server: RunningServer | undefined;
      const files = keyDirectory();
      let ec: KeyPair;
      let ed: KeyPair;
      before(async () => {
        ec = ecKeys();
        ed = edKeys();
        const jwksFile = files.write('jwks.json', JSON.stringify({ keys: [jwk(ed, 'EdDSA', 'file-1')] }));
        server = await launch(['--jwt-public-key', files.write('ec.pem', ec.publicPem), '--jwks', jwksFile]);
      });
      after(async () => {
        if (server) assertNoTokenInOutput(server);
        await server?.stop('SIGKILL');
        files.cleanup();
      });

      it('ES256 with the public key, EdDSA by kid from the file; RS256 and HS256 are 401', async () => {
        const ways = waysOf(() => server!);
        const pub = ways.find((way) => way.label === 'pub by POST')!;
        await pub.accept(remember(await signPem(claims({ pub: ['f'] }), ec, 'ES256')), 'f/1');
        await pub.accept(remember(await signKid(claims({ pub: ['f'] }), ed, 'EdDSA', 'file-1')), 'f/2');
        assertRefusal(await pub.refuse(remember(await signPem(claims({ pub: ['f'] }), rsaKeys(), 'RS256')), 'f'), 401, /RS256 not accepted for this key/, 'RS256');
        assertRefusal(await pub.refuse(remember(await keyConfusionToken(claims({ pub: ['f'] }), ec.publicPem)), 'f'), 401, /HS256 not accepted/, 'HS256');
        assertRefusal(await pub.refuse(remember(await signKid(claims({ pub: ['f'] }), ed, 'EdDSA', 'file-2')), 'f'), 401, /unknown key id/, 'unknown kid');
      });
    });
  });
}
