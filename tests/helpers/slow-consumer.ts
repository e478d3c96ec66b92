/**
 * The slow-consumer rule end to end, for any broker started with `--max-buffered-bytes 262144`:
 * a subscriber that stops reading is closed with 1013 and counted, while a subscriber of the
 * same topic that keeps reading gets every message. Shared by the fast-path suites of each
 * runtime (their send paths differ; the rule must not).
 */
import assert from 'node:assert/strict';
import { stats, waitForStats, type RunningServer } from './server.ts';
import { open } from './ws-client.ts';
import { stalledSubscriber } from './stalled-subscriber.ts';

export async function slowConsumerScenario(server: RunningServer): Promise<void> {
  const stalled = await stalledSubscriber(server.wsUrl, '/sub/slow');
  const reader = await open(`${server.wsUrl}/sub/slow`);
  const publisher = await open(`${server.wsUrl}/pub/slow/firehose`);
  try {
    await waitForStats(server, (s) => s.subscribers === 2 && s.publishers === 1, 20_000);
    const payload = Buffer.alloc(16 * 1024, 1);
    let sent = 0;
    // Batches the reading subscriber keeps up with, until the stalled one is dropped (the
    // kernel's socket buffers hold some MiB first) or far more than any buffer holds went out.
    while ((await stats(server)).slowConsumerDisconnects === 0 && sent < 8000) {
      for (let i = 0; i < 16; i++, sent++) publisher.socket.send(payload);
      await reader.waitFor(sent, 20_000);
    }
    const after = await waitForStats(server, (s) => s.slowConsumerDisconnects === 1 && s.subscribers === 1, 20_000);
    assert.equal(after.slowConsumerDisconnects, 1);
    for (let i = 0; i < 10; i++, sent++) publisher.socket.send(payload);
    await reader.waitFor(sent, 20_000);
    assert.equal(reader.received.length, sent);
    // Reading again, the stalled subscriber finds the close frame after its backlog: 1013.
    assert.equal(await stalled.closeCode(), 1013);
  } finally {
    stalled.destroy();
    reader.socket.terminate();
    publisher.socket.terminate();
  }
  await waitForStats(server, (s) => s.connections === 0, 20_000);
}
