/**
 * The fast send path's bound on one turn's fan-out (src/adapters/node/turn-budget.ts): past the
 * budget, a publisher that publishes is paused until the next turn, then reads again, with
 * nothing it sent lost. On real TCP sockets of 127.0.0.1.
 */
import { afterEach, beforeEach, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LOOP_BUDGET_BYTES, TURN_BUDGET_BYTES, collectedThisTurn, throttlePublisher, turnWritten } from '../src/adapters/node/turn-budget.ts';

let server: net.Server;
let accepted: net.Socket;
let peer: net.Socket;

beforeEach(async () => {
  server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const connection = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  peer = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  accepted = await connection;
  turnWritten();
});

afterEach(async () => {
  turnWritten();
  peer.destroy();
  accepted.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it('leaves a publisher reading while the turn is within the budget', () => {
  accepted.on('data', () => {});
  collectedThisTurn(TURN_BUDGET_BYTES);
  throttlePublisher(accepted);
  assert.equal(accepted.isPaused(), false);
});

it('pauses a publisher past the budget and resumes it next turn, losing nothing', async () => {
  const received: Buffer[] = [];
  accepted.on('data', (chunk: Buffer) => received.push(chunk));
  collectedThisTurn(TURN_BUDGET_BYTES + 1);
  throttlePublisher(accepted);
  assert.equal(accepted.isPaused(), true);

  peer.write('sent while paused');
  turnWritten();
  await nextTurn();
  assert.equal(accepted.isPaused(), false, 'resumed in the next turn');
  while (Buffer.concat(received).length < 17) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(Buffer.concat(received).toString(), 'sent while paused');
});

it('starts every turn with nothing collected', () => {
  accepted.on('data', () => {});
  collectedThisTurn(TURN_BUDGET_BYTES + 1);
  turnWritten();
  throttlePublisher(accepted);
  assert.equal(accepted.isPaused(), false);
});

it('resumes no socket that was destroyed while paused', async () => {
  accepted.on('data', () => {});
  accepted.on('error', () => {});
  collectedThisTurn(TURN_BUDGET_BYTES + 1);
  throttlePublisher(accepted);
  accepted.destroy();
  await nextTurn();
  assert.equal(accepted.destroyed, true);
});

it('pauses a publisher that published more than the loop budget before the event loop turned, until it has', async () => {
  accepted.on('data', () => {});
  throttlePublisher(accepted, LOOP_BUDGET_BYTES);
  assert.equal(accepted.isPaused(), false, 'at the budget: still reading');
  throttlePublisher(accepted, 1);
  assert.equal(accepted.isPaused(), true, 'past it: paused');
  await nextTurn();
  assert.equal(accepted.isPaused(), false, 'the loop turned: reading again');
  throttlePublisher(accepted, 1);
  assert.equal(accepted.isPaused(), false, 'a new turn starts from nothing');
  await nextTurn();
});
