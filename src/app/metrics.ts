/** `/stats` counters in Prometheus text exposition format. */
import type { BrokerStats } from '../core/counters.ts';

const HELP: Record<keyof BrokerStats, [type: 'gauge' | 'counter', help: string]> = {
  connections: ['gauge', 'Open WebSocket and SSE connections.'],
  subscribers: ['gauge', 'Subscribers (WebSocket, SSE and in-process).'],
  publishers: ['gauge', 'Open WebSocket publishers.'],
  peers: ['gauge', 'Open bus peers.'],
  pushers: ['gauge', 'Open WebSocket pushers.'],
  pullers: ['gauge', 'Open pullers.'],
  topics: ['gauge', 'Topics holding a subscriber, peer, puller or queued message.'],
  queued: ['gauge', 'Push messages waiting for a puller.'],
  messagesIn: ['counter', 'Messages accepted from clients.'],
  messagesOut: ['counter', 'Messages handed to receivers.'],
  slowConsumerDisconnects: ['counter', 'Receivers closed with 1013 for an unsent backlog past maxBufferedBytes.'],
  uptimeSeconds: ['gauge', 'Seconds since the broker started.'],
  refused: ['counter', 'Requests refused before upgrade (origin, topic, limits).'],
  forwardFailures: ['counter', 'Messages the cluster engine could not forward to other nodes.'],
  heldBytes: ['gauge', 'Bytes held for clients (queued pushes with their bookkeeping, POST bodies being read), out of maxHeldBytes.'],
  budgetRefusals: ['counter', 'Pushes and POST bodies refused for bytes (pushQueueBytes, maxHeldBytes).'],
  historyTopics: ['gauge', 'Topics whose history holds at least one message (this process; none in cluster mode).'],
  historyMessages: ['gauge', 'Messages held in history for resuming subscribers.'],
  historyBytes: ['gauge', 'Bytes held in history (payloads and bookkeeping).'],
};

export function prometheusText(stats: BrokerStats): string {
  let text = '';
  for (const key of Object.keys(HELP) as Array<keyof BrokerStats>) {
    const [type, help] = HELP[key];
    const name = `broker_${key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)}${type === 'counter' ? '_total' : ''}`;
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${stats[key]}\n`;
  }
  return text;
}
