/**
 * The black-box suite against the broker mounted under `/broker` inside another Hono app through
 * the per-runtime entry points (`broker-hono/node`, `/deno`, `/bun`; tests/fixtures/*-mount.ts),
 * on Node, Deno and Bun: the same protocol under a prefix, refused upgrades with their JSON body.
 */
import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
import { bunMounted, denoMounted, nodeMounted } from './helpers/runtimes.ts';

defineBlackboxSuite('node, mounted at /broker', nodeMounted);
defineBlackboxSuite('deno, mounted at /broker', denoMounted);
defineBlackboxSuite('bun, mounted at /broker', bunMounted);
