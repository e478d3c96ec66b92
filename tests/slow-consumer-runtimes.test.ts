/**
 * The slow-consumer rule (README, "Limits and hardening": a receiver whose backlog passes
 * `maxBufferedBytes` is closed with 1013 and counted; a reading one of the same topic gets
 * everything) where it rests on the runtime's own `bufferedAmount`: the broker on Deno, and mounted
 * under `/broker` on Node (`@hono/node-ws`), Deno (`hono/deno`) and Bun (`hono/bun`). The Node CLI
 * and the Bun CLI have their own fast paths, tested with the same scenario beside them.
 */
import { describe, it } from 'node:test';
import type { Launcher } from './helpers/server.ts';
import { bunMounted, denoCli, denoMounted, nodeMounted } from './helpers/runtimes.ts';
import { slowConsumerScenario } from './helpers/slow-consumer.ts';

const LAUNCHERS: Array<[name: string, launch: Launcher]> = [
  ['deno CLI', denoCli],
  ['node, mounted with @hono/node-ws', nodeMounted],
  ['deno, mounted with hono/deno', denoMounted],
  ['bun, mounted with hono/bun', bunMounted],
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
