/** The auth black-box suite (helpers/auth-suite.ts) against the broker on Bun. */
import { defineAuthSuite } from './helpers/auth-suite.ts';
import { bunCli } from './helpers/runtimes.ts';

defineAuthSuite('bun CLI', bunCli, { oversizedHeaderStatus: 431 });
