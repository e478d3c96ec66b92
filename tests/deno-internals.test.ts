/**
 * The runtime internals the Deno server relies on, pinned on Deno itself (the fixture runs under
 * `deno run -P`): if a Deno or `ws` upgrade moves them, this fails by name. The broker would go
 * on working on its fallbacks (`ws.send` instead of the fast send path, logged once; pausing the
 * listener with `close()`, logged once), but slower or less safely.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToEnd } from './helpers/server.ts';
import { DENO } from './helpers/runtimes.ts';

/** `ws` reads these as it loads; the fixture imports it directly (the CLI loads it without, src/adapters/deno/load-server.ts). */
const WS_ENVIRONMENT = 'WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE';

test("deno: the fast send path finds ws's TCP socket, and the accept guard can close the listening socket", { timeout: 60_000 }, async () => {
  const result = await runToEnd(DENO, ['run', '-q', '-P', `--allow-env=${WS_ENVIRONMENT}`, 'tests/fixtures/deno-internals.ts']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { fastSocket: true, message: 'through the fast path', stopListeningQuietly: true });
});
