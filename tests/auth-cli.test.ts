/**
 * The auth options on the command line: `BROKER_JWT_SECRET` turns auth on like `--jwt-secret`
 * (Node, Deno with deno.json's permission set, Bun), a config file may hold them, and a key that
 * cannot be used (missing file, no public key in it, not a key set, a short secret) is one line
 * and exit 2, never a broker that refuses every token.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, runCli, spawnBroker, type RunningServer } from './helpers/server.ts';
import { BUN, DENO } from './helpers/runtimes.ts';
import { SECRET, bearer, hs256, keyDirectory, now, rsaKeys } from './helpers/tokens.ts';
import { parseCommandLine } from '../src/cli/args.ts';
import { mergeConfiguration } from '../src/cli/config.ts';

const files = keyDirectory();
const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
  files.cleanup();
});

describe('the auth flags', () => {
  it('each flag sets its option; -p is a switch; the environment gives the secret, a flag wins', () => {
    const command = parseCommandLine(
      ['--jwt-public-key', 'k.pem', '--jwks', 'https://issuer.test/jwks.json', '--jwt-issuer', 'i', '--jwt-audience', 'a', '-p'],
      { BROKER_JWT_SECRET: SECRET },
    );
    assert.equal(command.kind, 'run');
    if (command.kind !== 'run') return;
    const options = mergeConfiguration([command.env, command.flags]);
    assert.equal(options.jwtSecret, SECRET);
    assert.equal(options.jwtPublicKey, 'k.pem');
    assert.equal(options.jwks, 'https://issuer.test/jwks.json');
    assert.equal(options.jwtIssuer, 'i');
    assert.equal(options.jwtAudience, 'a');
    assert.equal(options.proxy, true);
    const flagWins = parseCommandLine(['--jwt-secret', 'z'.repeat(40)], { BROKER_JWT_SECRET: SECRET });
    if (flagWins.kind === 'run') assert.equal(mergeConfiguration([flagWins.env, flagWins.flags]).jwtSecret, 'z'.repeat(40));
    const off = parseCommandLine([], {});
    if (off.kind === 'run') assert.equal(mergeConfiguration([off.env, off.flags]).proxy, undefined);
  });
});

describe('BROKER_JWT_SECRET', () => {
  const runtimes: Array<[string, string, string[]]> = [
    ['Node', process.execPath, [CLI]],
    ['Deno', DENO, ['run', '-q', '-P', 'mod.ts']],
    ['Bun', BUN, ['run', 'mod.ts']],
  ];
  for (const [name, command, prefix] of runtimes) {
    it(`${name}: turns auth on from the environment, off the command line`, async () => {
      const server = await spawnBroker(command, [...prefix, '-l', 'http://127.0.0.1:0'], { env: { BROKER_JWT_SECRET: SECRET }, timeoutMs: 60_000 });
      servers.push(server);
      assert.equal((await fetch(`${server.httpUrl}/pub/x`, { method: 'POST', body: 'm' })).status, 401);
      const token = await hs256({ exp: now() + 60, broker: { pub: ['x'] } });
      assert.equal((await fetch(`${server.httpUrl}/pub/x`, { method: 'POST', body: 'm', headers: bearer(token) })).status, 200);
      await server.stop('SIGKILL');
    });
  }
});

describe('auth options from a config file', () => {
  it('jwtSecret and jwtAudience as JSON', async () => {
    const config = files.write('broker.json', JSON.stringify({ jwtSecret: SECRET, jwtAudience: 'svc' }));
    const server = await spawnBroker(process.execPath, [CLI, '-l', 'http://127.0.0.1:0', '--config', config]);
    servers.push(server);
    const forOther = await hs256({ exp: now() + 60, aud: 'other', broker: { pub: ['x'] } });
    const forUs = await hs256({ exp: now() + 60, aud: 'svc', broker: { pub: ['x'] } });
    assert.equal((await fetch(`${server.httpUrl}/pub/x`, { method: 'POST', body: 'm', headers: bearer(forOther) })).status, 401);
    assert.equal((await fetch(`${server.httpUrl}/pub/x`, { method: 'POST', body: 'm', headers: bearer(forUs) })).status, 200);
    await server.stop('SIGKILL');
  });
});

describe('a key that cannot be used: one line, exit 2', () => {
  it('each case names the option and the reason', async () => {
    const missing = `${files.dir}/missing.pem`;
    const cases: Array<[string[], RegExp]> = [
      [['--jwt-public-key', missing], /^broker-hono: jwtPublicKey .*missing\.pem: ENOENT$/],
      [['--jwt-public-key', files.write('private.pem', rsaKeys().privatePem)], /^broker-hono: jwtPublicKey .*private\.pem: not a PEM public key/],
      [['--jwks', `${files.dir}/missing.json`], /^broker-hono: jwks .*missing\.json: ENOENT$/],
      [['--jwks', files.write('not-a-set.json', '{"keys": 7}')], /^broker-hono: jwks .*not-a-set\.json: not a JWK Set/],
      [['--jwt-secret', 'too short'], /^broker-hono: --jwt-secret \(jwtSecret\): must be at least 32 characters/],
      [['--jwt-issuer'], /^broker-hono: --jwt-issuer needs a value$/],
      [['--jwks', 'http://issuer.example/jwks.json'], /^broker-hono: --jwks \(jwks\): an http:\/\/ URL must be on a loopback address/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['-l', 'http://127.0.0.1:0', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.match(result.stderr.trimEnd(), message);
      assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`);
    }
  });

  it('the secret never appears in a refusal', async () => {
    const result = await runCli(['--jwt-secret', 'a secret that is short']);
    assert.equal(result.code, 2);
    assert.ok(!result.stderr.includes('a secret that is short'), result.stderr);
  });
});
