/**
 * The client library as one browser module (scripts/client-bundle.ts → src/app/client-script.ts),
 * served at `/client.js` in every mode and inlined in the demo page: the committed copy is what
 * the script makes of src/client/ now, it is a working ES module, and the broker serves it.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { clientBundle, scriptModule, SCRIPT_MODULE } from '../scripts/client-bundle.ts';
import { CLIENT_SCRIPT } from '../src/app/client-script.ts';
import { nodeCli, type RunningServer } from './helpers/server.ts';

const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
});

describe('client bundle', () => {
  it('src/app/client-script.ts is what scripts/client-bundle.ts makes of src/client/ now', () => {
    assert.equal(readFileSync(SCRIPT_MODULE, 'utf8'), scriptModule(clientBundle()), 'stale: run `node --import tsx scripts/client-bundle.ts --write`');
  });

  it('is an ES module that imports nothing and exports createClient', async () => {
    const module = (await import(`data:text/javascript;base64,${Buffer.from(CLIENT_SCRIPT).toString('base64')}`)) as Record<string, unknown>;
    assert.equal(typeof module.createClient, 'function');
    assert.doesNotMatch(CLIENT_SCRIPT, /^\s*import\s/m);
  });

  it('GET /client.js serves it, in production mode too', async () => {
    const server = await nodeCli(['-m', 'production']);
    servers.push(server);
    const response = await fetch(`${server.httpUrl}/client.js`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(response.headers.get('access-control-allow-origin'), '*', 'pages of other origins may import it');
    assert.equal(await response.text(), CLIENT_SCRIPT);
  });
});
