/**
 * The slow-consumer rule (README, "Limits and hardening": a receiver whose backlog passes
 * `maxBufferedBytes` is closed with 1013 and counted; a reading one of the same topic gets
 * everything) on the broker on Deno (the runtime's own `bufferedAmount`), and mounted under
 * `/broker` through the entry points `broker-hono/node`, `/deno` and `/bun` (which bring the Node
 * and Bun CLIs' fast paths along). The CLIs are tested with the same scenario beside them.
 */
import { describe, it } from 'node:test';
import type { Launcher } from './helpers/server.ts';
import { bunMounted, denoCli, denoMounted, nodeMounted } from './helpers/runtimes.ts';
import { slowConsumerScenario } from './helpers/slow-consumer.ts';

const LAUNCHERS: Array<[name: string, launch: Launcher]> = [
  ['deno CLI', denoCli],
  ['node, mounted (broker-hono/node)', nodeMounted],
  ['deno, mounted (broker-hono/deno)', denoMounted],
  ['bun, mounted (broker-hono/bun)', bunMounted],
];

describe('slow consumers on every runtime', () => {
  for (const [name, launch] of LAUNCHERS) {
    it(`${name}: a subscriber that stops reading is closed with 1013 and counted; a reading one gets everything`, async () => {
      const server = await launch(['--max-buffered-bytes', '262144']);
      try {
        await slowConsumerScenario(server);
      } finally {
        await server.stop();
      }
    });
  }
});
