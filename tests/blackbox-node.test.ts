/** The black-box suite against the Node CLI (`bin/broker-hono.js`, built from src/). */
import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
import { nodeCli } from './helpers/server.ts';

defineBlackboxSuite('node CLI', nodeCli);
