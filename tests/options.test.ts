/**
 * src/options.ts: the one zod schema of options. Defaults are the README's ("Options"), every bad
 * value is refused with one line naming the option, and the README's option table is generated from
 * it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OptionsError, brokerOptionsSchema, optionRows, optionsShape, resolveOptions } from '../src/options.ts';
import { README, optionsTable, tableInReadme } from '../scripts/options-table.ts';

function refused(input: unknown, pattern: RegExp): void {
  assert.throws(
    () => resolveOptions(input),
    (error: unknown) => {
      assert.ok(error instanceof OptionsError, `expected OptionsError, got ${String(error)}`);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('\n'), `one line: ${JSON.stringify(error.message)}`);
      return true;
    },
    JSON.stringify(input),
  );
}

describe('options schema', () => {
  it('defaults are those of the README', () => {
    const defaults = resolveOptions({});
    assert.deepEqual(defaults, {
      listen: ['http://*:3000'],
      mode: 'development',
      maxConnections: 10000,
      maxMessageSize: 1024 * 1024,
      maxBufferedBytes: 4 * 1024 * 1024,
      pingInterval: 30,
      inactivityTimeout: 1200,
      pushQueueLimit: 10000,
      pushQueueBytes: 2 * 1024 * 1024,
      maxHeldBytes: 256 * 1024 * 1024,
      maxPostsInFlight: 256,
      headersTimeout: 10,
      bodyTimeout: 30,
      maxTopicDepth: 32,
      maxTopicLength: 1024,
      historySize: 0,
      historyTtl: 300,
      historyMaxBytes: 64 * 1024 * 1024,
    });
    assert.deepEqual(resolveOptions(), defaults);
    assert.deepEqual(resolveOptions(null), defaults);
    assert.equal(defaults.allowOrigin, undefined);
    assert.equal(defaults.redis, undefined);
  });

  it('takes valid values as given', () => {
    const options = resolveOptions({
      listen: ['http://127.0.0.1:0', 'http://[::1]:8080', 'http://*:65535', 'http://localhost:3000'],
      mode: 'production',
      maxConnections: 1,
      maxMessageSize: 1,
      pingInterval: 0.5,
      inactivityTimeout: 0.25,
      pushQueueLimit: 0,
      allowOrigin: ['example.com', '*.example.org', 'https://example.net:8443'],
      redis: 'rediss://127.0.0.1:6379/2',
    });
    assert.equal(options.listen.length, 4);
    assert.equal(options.mode, 'production');
    assert.equal(options.pushQueueLimit, 0);
    assert.equal(options.pingInterval, 0.5);
    assert.deepEqual(options.allowOrigin, ['example.com', '*.example.org', 'https://example.net:8443']);
    assert.equal(options.redis, 'rediss://127.0.0.1:6379/2');
  });

  it('refuses bad values with one line naming the option', () => {
    refused({ mode: 'staging' }, /^mode: /);
    refused({ maxConnections: 0 }, /^maxConnections: /);
    refused({ maxConnections: -1 }, /^maxConnections: /);
    refused({ maxConnections: 1.5 }, /^maxConnections: /);
    refused({ maxConnections: '10' }, /^maxConnections: /);
    refused({ maxMessageSize: 0 }, /^maxMessageSize: /);
    refused({ maxBufferedBytes: Number.NaN }, /^maxBufferedBytes: /);
    refused({ pingInterval: 0 }, /^pingInterval: /);
    refused({ inactivityTimeout: -5 }, /^inactivityTimeout: /);
    refused({ pushQueueLimit: -1 }, /^pushQueueLimit: /);
    refused({ pushQueueBytes: 0 }, /^pushQueueBytes: /);
    refused({ maxHeldBytes: 1.5 }, /^maxHeldBytes: /);
    refused({ maxPostsInFlight: 0 }, /^maxPostsInFlight: /);
    refused({ maxPostsInFlight: 2.5 }, /^maxPostsInFlight: /);
    refused({ headersTimeout: 0 }, /^headersTimeout: /);
    refused({ bodyTimeout: -1 }, /^bodyTimeout: /);
    // setTimeout fires at once past 2^31 ms: a day is the most either timeout takes.
    refused({ bodyTimeout: 86401 }, /^bodyTimeout: /);
    refused({ maxTopicDepth: 0 }, /^maxTopicDepth: /);
    refused({ maxTopicLength: 2.5 }, /^maxTopicLength: /);
    refused({ listen: [] }, /^listen: /);
    refused({ listen: 'http://*:3000' }, /^listen: /);
    refused({ listen: ['nonsense'] }, /^listen\.0: must look like http:\/\/HOST:PORT/);
    refused({ listen: ['http://*:3000', 'https://*:443'] }, /^listen\.1: /);
    refused({ listen: ['http://*:65536'] }, /port must be 0-65535/);
    refused({ listen: ['http://*:'] }, /^listen\.0: /);
    refused({ allowOrigin: [''] }, /^allowOrigin\.0: /);
    refused({ allowOrigin: 'example.com' }, /^allowOrigin: /);
    refused({ redis: 'http://127.0.0.1:6379' }, /^redis: must be a redis:\/\/ URL/);
    refused({ maxconnections: 5 }, /^unknown option "maxconnections"$/);
    refused('not an object', /options/);
  });

  it('the schema is strict and every option has a description', () => {
    assert.equal(brokerOptionsSchema.safeParse({ extra: true }).success, false);
    for (const [name, schema] of Object.entries(optionsShape)) {
      assert.ok((schema.description ?? '').length > 20, `${name} has a description`);
    }
  });

  it('optionRows: one row per option, with type and default from the schema', () => {
    const rows = optionRows();
    assert.deepEqual(rows.map((row) => row.name), Object.keys(optionsShape));
    const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
    assert.equal(byName.maxConnections!.defaultValue, '`10000`');
    assert.equal(byName.maxConnections!.type, 'integer');
    assert.equal(byName.pingInterval!.type, 'number');
    assert.equal(byName.listen!.type, 'string[]');
    assert.equal(byName.listen!.defaultValue, '`["http://*:3000"]`');
    assert.match(byName.mode!.type, /`development`.*`production`/);
    assert.equal(byName.redis!.defaultValue, '—');
    for (const row of rows) assert.ok(!/\n/.test(row.description), `${row.name}: one line, fit for a table cell`);
  });
});

describe('README option table', () => {
  it('is exactly what `npm run docs:options` generates from the schema', () => {
    const readme = readFileSync(README, 'utf8');
    const inReadme = tableInReadme(readme);
    assert.ok(inReadme !== undefined, 'README.md has the options-table markers');
    assert.equal(inReadme, optionsTable(), 'README table is stale: run `npm run docs:options -- --write`');
  });

  it('has one row per option of the schema', () => {
    const rows = optionsTable().split('\n').slice(2);
    assert.deepEqual(rows.map((row) => /^\| `(\w+)` \|/.exec(row)?.[1]), Object.keys(optionsShape));
  });
});
