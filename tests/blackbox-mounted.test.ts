/**
 * The black-box suite against the broker mounted under `/broker` inside another Hono app (the
 * examples/*-mount.ts programs), on Node, Deno and Bun: the same protocol under a prefix.
 */
import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
import { bunMounted, denoMounted, nodeMounted } from './helpers/runtimes.ts';

// @hono/node-ws answers a refused upgrade with a bare status line (README, "Mounting").
defineBlackboxSuite('node, mounted at /broker', nodeMounted, { refusedUpgradeIsStatusOnly: true });
defineBlackboxSuite('deno, mounted at /broker', denoMounted);
defineBlackboxSuite('bun, mounted at /broker', bunMounted);
