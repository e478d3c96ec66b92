/**
 * The black-box suite against a cluster: two Node CLI nodes with `--redis` on a real
 * redis-server of their own. Receivers connect to node A, senders to node B (helpers/cluster.ts),
 * so every message the suite checks goes through Redis, and `/stats` counts the whole cluster.
 */
import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
import { twoNodeCluster } from './helpers/cluster.ts';

defineBlackboxSuite('two-node cluster', twoNodeCluster);
