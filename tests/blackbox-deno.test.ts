/** The black-box suite against the broker on Deno (`deno run -P mod.ts`), a real child process. */
import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
import { denoCli } from './helpers/runtimes.ts';

defineBlackboxSuite('deno CLI', denoCli);
