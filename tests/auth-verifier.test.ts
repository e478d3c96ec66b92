/**
 * src/app/auth/verifier.ts (and jwks.ts, public-key.ts) in process, with real keys and tokens:
 * which key verifies which algorithm, every refusal by name, the JWKS cache (fetched again on an
 * unknown `kid`, at most once per cooldown, kept when a load fails), and that no refusal quotes
 * the token. The black-box suites check the same answers on the wire.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { resolveOptions } from '../src/options.ts';
import { createAuthenticator, MAX_TOKEN_BYTES, type Access, type Authenticator, type TokenRefusal } from '../src/app/auth/verifier.ts';
import { atExpiry } from '../src/app/auth/expiry.ts';
import { UNKNOWN_KID_COOLDOWN_MS } from '../src/app/auth/jwks.ts';
import {
  AUDIENCE, ISSUER, SECRET, claims, ecKeys, edKeys, hs256, jwk, keyConfusionToken, keyDirectory, now, rsaKeys, signKid, signPem, unsignedToken,
  type KeyPair,
} from './helpers/tokens.ts';

const logged: string[] = [];
const log = (line: string) => void logged.push(line);

function authenticator(options: Record<string, unknown>): Authenticator {
  const auth = createAuthenticator(resolveOptions(options), { readTextFile: (path) => readFileSync(path, 'utf8'), log });
  assert.ok(auth, 'auth is on');
  return auth;
}

function assertAccess(result: Access | TokenRefusal): Access {
  assert.ok(!('refused' in result), `refused: ${'refused' in result ? result.refused : ''}`);
  return result;
}

function assertRefused(result: Access | TokenRefusal, reason: RegExp, token?: string): void {
  assert.ok('refused' in result, 'refused');
  assert.match(result.refused, reason);
  const payloadPart = token?.split('.')[1] ?? '';
  if (payloadPart.length > 8) assert.ok(!result.refused.includes(payloadPart), 'the refusal does not quote the token');
}

let rsa: KeyPair;
let ec: KeyPair;
let ed: KeyPair;
before(() => {
  rsa = rsaKeys();
  ec = ecKeys();
  ed = edKeys();
});

describe('auth off', () => {
  it('no jwtSecret, jwtPublicKey or jwks: no authenticator', () => {
    assert.equal(createAuthenticator(resolveOptions({}), { log }), undefined);
    assert.equal(createAuthenticator(resolveOptions({ jwtIssuer: ISSUER }), { log }), undefined);
  });
});

describe('jwtSecret (HS256/384/512)', () => {
  const auth = () => authenticator({ jwtSecret: SECRET, jwtIssuer: ISSUER, jwtAudience: AUDIENCE });

  it('accepts HS256, HS384 and HS512 with the grants and expiry of the token', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const exp = now() + 30;
      const access = assertAccess(await auth().verify(await hs256(claims({ sub: ['a'] }, { exp }), SECRET, alg)));
      assert.deepEqual(access.grants.topics.sub, ['a']);
      assert.equal(access.expiresAt, exp * 1000);
    }
  });

  it('a token without exp never expires', async () => {
    const payload = claims({ sub: ['a'] });
    delete payload.exp;
    assert.equal(assertAccess(await auth().verify(await hs256(payload))).expiresAt, undefined);
  });

  it('refuses each broken token with its reason', async () => {
    const cases: Array<[string, Promise<string> | string, RegExp]> = [
      ['another secret', hs256(claims({}), 'another secret, also forty characters long'), /bad signature/],
      ['alg none', unsignedToken(claims({ sub: ['*'] })), /algorithm "none" not accepted/],
      ['expired', hs256(claims({}, { exp: now() - 1 })), /token expired/],
      ['nbf in the future', hs256(claims({}, { nbf: now() + 60 })), /not valid yet/],
      ['wrong issuer', hs256(claims({}, { iss: 'https://other.test' })), /issuer/],
      ['no issuer', hs256({ aud: AUDIENCE, exp: now() + 60 }), /issuer/],
      ['wrong audience', hs256(claims({}, { aud: 'someone-else' })), /audience/],
      ['no audience', hs256({ iss: ISSUER, exp: now() + 60 }), /audience/],
      ['an RS256 token', signPem(claims({}), rsa, 'RS256'), /RS256 not accepted/],
      ['not a JWT', 'not.a.jwt', /malformed/],
      ['two parts', 'abc.def', /malformed/],
      ['a typ that is not JWT', signWithHeader({ alg: 'HS256', typ: 'at+jwt' }), /header/],
      ['crit', signWithHeader({ alg: 'HS256', typ: 'JWT', crit: ['x'] }), /header/],
    ];
    for (const [name, token, reason] of cases) {
      const text = await token;
      const result = await auth().verify(text);
      assert.ok('refused' in result, `${name}: refused`);
      assertRefused(result, reason, text.includes('.') ? text : undefined);
    }
  });

  it(`refuses a token over ${MAX_TOKEN_BYTES} bytes unread, and takes one just under`, async () => {
    const padding = (size: number) => 'x'.repeat(size);
    const small = await hs256(claims({ sub: ['a'] }, { padding: padding(8 * 1024) }));
    assert.ok(small.length > 8 * 1024 && small.length <= MAX_TOKEN_BYTES);
    assertAccess(await auth().verify(small));
    assertRefused(await auth().verify(await hs256(claims({}, { padding: padding(MAX_TOKEN_BYTES) }))), /larger than/);
  });
});

/** An HS256 token with a header of our choosing (hono's sign writes only alg, typ and kid). */
async function signWithHeader(header: Record<string, unknown>): Promise<string> {
  const { createHmac } = await import('node:crypto');
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part(header)}.${part(claims({}))}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

describe('jwtPublicKey', () => {
  it('verifies what the key type allows: RSA → RS256 and PS256, EC P-256 → ES256, Ed25519 → EdDSA', async () => {
    const files = keyDirectory();
    try {
      for (const [keys, algs] of [[rsa, ['RS256', 'PS256']], [ec, ['ES256']], [ed, ['EdDSA']]] as const) {
        const auth = authenticator({ jwtPublicKey: files.write('public.pem', keys.publicPem) });
        await auth.ready();
        for (const alg of algs) assertAccess(await auth.verify(await signPem(claims({ pub: ['x'] }), keys, alg)));
      }
    } finally {
      files.cleanup();
    }
  });

  it('takes the PEM text itself (createBroker) as well as a file', async () => {
    const auth = createAuthenticator(resolveOptions({ jwtPublicKey: ec.publicPem }), { log });
    await auth!.ready();
    assertAccess(await auth!.verify(await signPem(claims({}), ec, 'ES256')));
  });

  it('refuses key confusion, alg none, another key of the same kind and another kind of algorithm', async () => {
    const auth = authenticator({ jwtPublicKey: rsa.publicPem });
    await auth.ready();
    assertRefused(await auth.verify(await keyConfusionToken(claims({ sub: ['*'] }), rsa.publicPem)), /HS256 not accepted \(no jwtSecret\)/);
    assertRefused(await auth.verify(unsignedToken(claims({ sub: ['*'] }))), /"none" not accepted/);
    assertRefused(await auth.verify(await signPem(claims({}), rsaKeys(), 'RS256')), /bad signature/);
    assertRefused(await auth.verify(await signPem(claims({}), ec, 'ES256')), /ES256 not accepted for this key/);
  });

  it('with a secret too, an HS256 token keyed with the public key still fails its signature', async () => {
    const auth = authenticator({ jwtPublicKey: rsa.publicPem, jwtSecret: SECRET });
    await auth.ready();
    assertRefused(await auth.verify(await keyConfusionToken(claims({}), rsa.publicPem)), /bad signature/);
  });

  it('ready() refuses a missing file and a file that holds no public key, in one line', async () => {
    const files = keyDirectory();
    try {
      await assert.rejects(authenticator({ jwtPublicKey: `${files.dir}/missing.pem` }).ready(), /^OptionsError: jwtPublicKey .*missing\.pem: ENOENT$/);
      const privatePem = files.write('private.pem', rsa.privatePem);
      await assert.rejects(authenticator({ jwtPublicKey: privatePem }).ready(), /jwtPublicKey .*private\.pem: not a PEM public key/);
    } finally {
      files.cleanup();
    }
  });
});

describe('jwks', () => {
  let server: Server;
  let served: { keys: unknown[] } = { keys: [] };
  let fetches = 0;
  let status = 200;
  let url = '';
  before(async () => {
    server = createServer((_request, response) => {
      fetches++;
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('picks the key by kid; fetches again on an unknown kid, at most once per cooldown', async () => {
    served = { keys: [jwk(ec, 'ES256', 'one')] };
    fetches = 0;
    const auth = authenticator({ jwks: url });
    await auth.ready();
    assert.equal(fetches, 1);
    assertAccess(await auth.verify(await signKid(claims({}), ec, 'ES256', 'one')));
    assert.equal(fetches, 1, 'a known kid is served from the cache');
    // The issuer rotates: a new key appears.
    served = { keys: [jwk(ec, 'ES256', 'one'), jwk(ed, 'EdDSA', 'two')] };
    await new Promise((resolve) => setTimeout(resolve, UNKNOWN_KID_COOLDOWN_MS));
    assertAccess(await auth.verify(await signKid(claims({}), ed, 'EdDSA', 'two')));
    assert.equal(fetches, 2);
    // Made-up kids: one more fetch at most within the cooldown.
    for (let i = 0; i < 5; i++) assertRefused(await auth.verify(await signKid(claims({}), ed, 'EdDSA', `made-up-${i}`)), /unknown key id/);
    assert.ok(fetches <= 3, `fetched ${fetches} times`);
  });

  it('keeps the keys it has when a load fails, and says so in one line', async () => {
    served = { keys: [jwk(rsa, 'RS256', 'r')] };
    const auth = authenticator({ jwks: url });
    await auth.ready();
    status = 503;
    await new Promise((resolve) => setTimeout(resolve, UNKNOWN_KID_COOLDOWN_MS));
    assertRefused(await auth.verify(await signKid(claims({}), rsa, 'RS256', 'unknown')), /unknown key id/);
    assertAccess(await auth.verify(await signKid(claims({}), rsa, 'RS256', 'r')));
    assert.ok(logged.some((line) => /jwks: cannot load the key set: .* answered 503; keeping the keys loaded before/.test(line)), logged.join('\n'));
    status = 200;
  });

  it('a JWKS file; tokens without kid, HS256 and alg none are refused', async () => {
    const files = keyDirectory();
    try {
      const auth = authenticator({ jwks: files.write('jwks.json', JSON.stringify({ keys: [jwk(ec, 'ES256', 'e')] })) });
      await auth.ready();
      assertAccess(await auth.verify(await signKid(claims({}), ec, 'ES256', 'e')));
      assertRefused(await auth.verify(await signPem(claims({}), ec, 'ES256')), /without kid/);
      assertRefused(await auth.verify(await hs256(claims({}))), /HS256 not accepted/);
      assertRefused(await auth.verify(unsignedToken(claims({}))), /"none" not accepted/);
      // A key of the set presented with another algorithm than its own.
      assertRefused(await auth.verify(await signKid(claims({}), rsa, 'RS256', 'e')), /algorithm not accepted for this key/);
    } finally {
      files.cleanup();
    }
  });

  it('ready() refuses a JWKS file that is missing or not a key set; an unreachable URL is only logged', async () => {
    const files = keyDirectory();
    try {
      await assert.rejects(authenticator({ jwks: `${files.dir}/none.json` }).ready(), /jwks .*none\.json: ENOENT/);
      await assert.rejects(authenticator({ jwks: files.write('bad.json', '{"nokeys": 1}') }).ready(), /not a JWK Set/);
      await authenticator({ jwks: 'http://127.0.0.1:1/jwks.json' }).ready();
      assert.ok(logged.some((line) => line.startsWith('jwks: cannot load http://127.0.0.1:1/jwks.json yet')), logged.join('\n'));
    } finally {
      files.cleanup();
    }
  });
});

describe('atExpiry', () => {
  it('fires at the time, at once when it has passed, never after cancel', async () => {
    let fired = 0;
    atExpiry(Date.now() - 1, () => fired++);
    assert.equal(fired, 1, 'past: at once');
    const start = Date.now();
    // The timer is unref'd (it must not hold a stopping process): a referenced one keeps this test alive.
    const keepAlive = setTimeout(() => {}, 5000);
    await new Promise<void>((resolve) => atExpiry(start + 100, () => resolve()));
    clearTimeout(keepAlive);
    assert.ok(Date.now() - start >= 100);
    const cancel = atExpiry(Date.now() + 50, () => fired++)!;
    cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(fired, 1);
    assert.equal(atExpiry(undefined, () => fired++), undefined);
  });

  it('a delay past what setTimeout can hold (24.8 days) does not fire at once', async () => {
    let fired = false;
    const cancel = atExpiry(Date.now() + 2 ** 31 + 60_000, () => (fired = true))!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(fired, false);
    cancel();
  });
});
