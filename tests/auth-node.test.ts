/** The auth black-box suite (helpers/auth-suite.ts) against the Node CLI. */
import { defineAuthSuite } from './helpers/auth-suite.ts';
import { nodeCli } from './helpers/server.ts';

defineAuthSuite('node CLI', nodeCli, { oversizedHeaderStatus: 431 });
