/** The black-box suite against the broker on Bun (`bun run mod.ts`), a real child process. */
import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
import { bunCli } from './helpers/runtimes.ts';

defineBlackboxSuite('bun CLI', bunCli);
