/**
 * The auth black-box suite (helpers/auth-suite.ts) against the broker on Deno. The Deno server is
 * `node:http` (src/adapters/deno/http-server.ts), with Node's 16 KB header limit: a request whose
 * token alone passes it gets 431 from the HTTP layer, as on Node and Bun.
 */
import { defineAuthSuite } from './helpers/auth-suite.ts';
import { denoCli } from './helpers/runtimes.ts';

defineAuthSuite('deno CLI', denoCli, { oversizedHeaderStatus: 431 });
