/**
 * The auth black-box suite (helpers/auth-suite.ts) against the broker on Deno. Deno's HTTP layer
 * takes headers far past 16 KB, so the broker's own limit answers an oversized token (401).
 */
import { defineAuthSuite } from './helpers/auth-suite.ts';
import { denoCli } from './helpers/runtimes.ts';

defineAuthSuite('deno CLI', denoCli, { oversizedHeaderStatus: 401 });
