/**
 * `ConnectionLimit` (src/app/connection-limit.ts) on its own: open connections plus handshakes in
 * flight never pass `maxConnections`, a reservation gives its slot back exactly once however
 * often it is released, and one that nobody reports back on is released by the deadline sweep.
 * The deadline is a constant of the module (HANDSHAKE_DEADLINE_MS), so the clock is node:test's
 * mock: `setInterval` and `Date` move only when a test ticks them.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionLimit, HANDSHAKE_DEADLINE_MS, type Reservation } from '../src/app/connection-limit.ts';
import { Counters } from '../src/core/counters.ts';

function limitOf(maxConnections: number) {
  const counters = new Counters();
  return { counters, limit: new ConnectionLimit(counters, maxConnections) };
}

/** Reserves until refused; returns what was granted. */
function reserveAll(limit: ConnectionLimit, attempts: number): Reservation[] {
  const granted: Reservation[] = [];
  for (let i = 0; i < attempts; i++) {
    const reservation = limit.reserve();
    if (reservation) granted.push(reservation);
  }
  return granted;
}

describe('ConnectionLimit: no overshoot', () => {
  it('handshakes in flight count: of many reservations at once only maxConnections are granted', () => {
    const { limit } = limitOf(5);
    const granted = reserveAll(limit, 50);
    assert.equal(granted.length, 5);
    assert.equal(limit.pending, 5);
    assert.equal(limit.used, 5);
    assert.equal(limit.hasRoom(), false);
    assert.equal(limit.reserve(), undefined);
    for (const reservation of granted) reservation.release();
  });

  it('open connections count too: a reservation turned into a connection keeps the slot taken', () => {
    const { counters, limit } = limitOf(2);
    const first = limit.reserve()!;
    // The socket opened: the opener counts the connection and releases the reservation.
    counters.connections++;
    first.release();
    assert.equal(limit.pending, 0);
    assert.equal(limit.used, 1);
    const second = limit.reserve();
    assert.ok(second);
    assert.equal(limit.reserve(), undefined, 'one open, one in flight: full');
    second.release();
    counters.connections--;
    assert.equal(limit.used, 0);
  });

  it('connections opened past the check (counted elsewhere) leave no room', () => {
    const { counters, limit } = limitOf(3);
    counters.connections = 3;
    assert.equal(limit.hasRoom(), false);
    assert.equal(limit.reserve(), undefined);
    assert.equal(limit.pending, 0, 'a refused reservation takes nothing');
  });

  it('a released slot can be reserved again, as often as slots come back', () => {
    const { limit } = limitOf(1);
    for (let round = 0; round < 5; round++) {
      const reservation = limit.reserve();
      assert.ok(reservation, `round ${round}`);
      assert.equal(limit.reserve(), undefined);
      reservation.release();
    }
    assert.equal(limit.pending, 0);
  });
});

describe('ConnectionLimit: release is idempotent', () => {
  it('releasing twice gives back one slot, never two', () => {
    const { limit } = limitOf(2);
    const [a, b] = reserveAll(limit, 2) as [Reservation, Reservation];
    a.release();
    a.release();
    a.release();
    assert.equal(limit.pending, 1, 'only a was given back');
    assert.ok(limit.reserve(), 'its slot is free');
    assert.equal(limit.reserve(), undefined, "b's slot is still taken");
    b.release();
  });
});

describe('ConnectionLimit: one sweep timer', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 }));
  afterEach(() => {
    mock.restoreAll();
    mock.timers.reset();
  });

  it('is started once for any number of reservations and stopped at the first sweep with none open', () => {
    // Deno cannot unref a timer: one left running would keep the process alive. It is not
    // stopped as the last reservation goes (a burst of clients empties the set many times a
    // second), but at the next sweep, if none has been taken since.
    const started = mock.method(globalThis, 'setInterval');
    const stopped = mock.method(globalThis, 'clearInterval');
    const { limit } = limitOf(100);
    const granted = reserveAll(limit, 10);
    assert.equal(started.mock.callCount(), 1, 'one timer for ten reservations');
    for (const reservation of granted) reservation.release();
    assert.equal(stopped.mock.callCount(), 0, 'not stopped until the next sweep');
    const again = limit.reserve()!;
    assert.equal(started.mock.callCount(), 1, 'still running: not started twice');
    mock.timers.tick(1000);
    assert.equal(stopped.mock.callCount(), 0, 'a reservation is open at this sweep');
    again.release();
    mock.timers.tick(1000);
    assert.equal(stopped.mock.callCount(), 1, 'stopped at the first sweep with none open');
    assert.equal(stopped.mock.calls[0]!.arguments[0], started.mock.calls[0]!.result, 'the timer that was started');
    limit.reserve();
    assert.equal(started.mock.callCount(), 2, 'started again for the next reservation');
  });
});

describe('ConnectionLimit: the deadline sweep', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('a reservation nobody releases is released once its deadline has passed, not before', () => {
    const { limit } = limitOf(1);
    const stale = limit.reserve()!;
    assert.equal(stale.expiresAt, 1_000_000 + HANDSHAKE_DEADLINE_MS);
    mock.timers.tick(HANDSHAKE_DEADLINE_MS - 1);
    assert.equal(limit.pending, 1, 'still within its deadline');
    assert.equal(limit.reserve(), undefined);
    mock.timers.tick(1000); // the next sweep
    assert.equal(limit.pending, 0, 'released by the sweep');
    assert.ok(limit.reserve(), 'its slot is free again');
  });

  it('the sweep releases only the stale ones', () => {
    const { limit } = limitOf(3);
    const early = limit.reserve()!;
    mock.timers.tick(HANDSHAKE_DEADLINE_MS / 2);
    const late = limit.reserve()!;
    mock.timers.tick(HANDSHAKE_DEADLINE_MS / 2);
    assert.equal(limit.pending, 1, 'the early one went, the late one stays');
    assert.ok(limit.reserve() && limit.reserve(), 'two slots free');
    mock.timers.tick(HANDSHAKE_DEADLINE_MS / 2);
    assert.equal(limit.pending, 2, 'the late one went too; the two new ones stay');
    early.release();
    late.release();
    assert.equal(limit.pending, 2, 'releasing a swept reservation again changes nothing');
  });

  it('a reservation released in time is not released a second time by the sweep', () => {
    const { limit } = limitOf(2);
    const done = limit.reserve()!;
    const other = limit.reserve()!;
    done.release();
    mock.timers.tick(HANDSHAKE_DEADLINE_MS / 2);
    const again = limit.reserve()!;
    mock.timers.tick(HANDSHAKE_DEADLINE_MS / 2 + 1000);
    // `other` expired; `again` has not. Had `done` been counted twice, pending would be 0.
    assert.equal(limit.pending, 1);
    again.release();
    other.release();
    assert.equal(limit.pending, 0);
  });

  it('the sweep starts again for reservations taken after every earlier one was released', () => {
    const { limit } = limitOf(1);
    limit.reserve()!.release();
    mock.timers.tick(HANDSHAKE_DEADLINE_MS * 2);
    const stale = limit.reserve()!;
    mock.timers.tick(HANDSHAKE_DEADLINE_MS + 1000);
    assert.equal(limit.pending, 0, 'released by a sweep started for it');
    stale.release();
    assert.equal(limit.pending, 0);
  });
});
