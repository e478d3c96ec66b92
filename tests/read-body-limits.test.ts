/**
 * `readMessageBody`'s bounds (src/app/read-body.ts, body-buffer.ts), on their own: what it holds
 * is one buffer of at most twice the bytes received whatever the chunking, every byte held is
 * reserved from the byte budget and given back, a budget that says no is a 503, and a body that
 * does not arrive in time is a 408. Bodies are web streams built here.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readMessageBody } from '../src/app/read-body.ts';
import { BodyBuffer } from '../src/app/body-buffer.ts';
import type { ByteBudget } from '../src/core/byte-budget.ts';

const MiB = 1024 * 1024;

/** A budget of `limit` bytes that records what is taken and given back. */
function recordingBudget(limit = Number.POSITIVE_INFINITY) {
  const budget = {
    held: 0,
    peak: 0,
    reservations: 0,
    refusals: 0,
    tryReserve(bytes: number) {
      assert.ok(bytes > 0, `reserved ${bytes} bytes`);
      if (budget.held + bytes > limit) {
        budget.refusals++;
        return false;
      }
      budget.held += bytes;
      budget.reservations++;
      budget.peak = Math.max(budget.peak, budget.held);
      return true;
    },
    release(bytes: number) {
      budget.held -= bytes;
      assert.ok(budget.held >= 0, 'released more than was reserved');
    },
  } satisfies ByteBudget & Record<string, unknown>;
  return budget;
}

/** A body of `count` chunks of `size` bytes, produced on demand (nothing built ahead). */
function chunks(count: number, size: number, byte = 0x78): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ === count) controller.close();
      else controller.enqueue(new Uint8Array(size).fill(byte));
    },
  }, { highWaterMark: 0 });
}

function post(body: ReadableStream<Uint8Array> | string | null, headers: Record<string, string> = {}): Request {
  return new Request('http://broker.test/pub/t', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

describe('readMessageBody: memory and the byte budget', () => {
  it('100,000 1-byte chunks: the body arrives whole; what was reserved is at most twice the body, in a few steps, all given back', async () => {
    const budget = recordingBudget();
    const result = await readMessageBody(post(chunks(100_000, 1)), MiB, budget);
    assert.deepEqual(result, { ok: true, data: 'x'.repeat(100_000) });
    assert.ok(budget.peak >= 100_000 && budget.peak <= 2 * 100_000, `peak reservation ${budget.peak}`);
    assert.ok(budget.reservations <= 10, `${budget.reservations} reservations: one per growth, not per chunk`);
    assert.equal(budget.held, 0, 'everything given back');
  });

  it('a declared Content-Length that the body keeps to is reserved exactly (no slack, no copy at the end)', async () => {
    const budget = recordingBudget();
    const body = 'y'.repeat(300_000);
    const stream = chunks(300, 1000, 0x79);
    const result = await readMessageBody(post(stream, { 'content-length': String(body.length) }), MiB, budget);
    assert.deepEqual(result, { ok: true, data: body });
    assert.equal(budget.peak, body.length);
    assert.equal(budget.held, 0);
  });

  it('a budget that cannot take the body is 503; nothing stays reserved', async () => {
    const budget = recordingBudget(64 * 1024);
    const result = await readMessageBody(post(chunks(200, 1024)), MiB, budget);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.status, 503);
    assert.equal(budget.refusals, 1);
    assert.equal(budget.held, 0);
  });

  it('a body over the limit gives back what it held at once, and is 413', async () => {
    const budget = recordingBudget();
    const result = await readMessageBody(post(chunks(20, 100)), 1000, budget);
    assert.equal(!result.ok && result.status, 413);
    assert.equal(budget.held, 0);
  });

  it('BodyBuffer: capacity never past the limit nor twice what arrived (past its first 16 KiB)', () => {
    const budget = recordingBudget();
    const buffer = new BodyBuffer(MiB, undefined, budget);
    let total = 0;
    for (let i = 0; i < 5000; i++) {
      const size = 1 + (i % 300);
      if (total + size > MiB) break;
      assert.equal(buffer.append(new Uint8Array(size)), true);
      total += size;
      assert.ok(budget.held <= Math.max(16 * 1024, 2 * total) && budget.held <= MiB, `${budget.held} held for ${total} bytes`);
    }
    assert.equal(buffer.bytes().byteLength, total);
    buffer.release();
    assert.equal(budget.held, 0);
  });
});

describe('readMessageBody: time', () => {
  it('a body that stops arriving is 408 at the deadline, and the stream is cancelled', { timeout: 5000 }, async () => {
    let cancelled = false;
    let sent = 0;
    const stalled = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Two chunks, then nothing ever again.
        if (sent++ < 2) controller.enqueue(new Uint8Array(10));
        else return new Promise(() => {});
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    const budget = recordingBudget();
    const started = Date.now();
    const result = await readMessageBody(post(stalled), MiB, budget, { timeoutMs: 200 });
    const took = Date.now() - started;
    assert.deepEqual(result, { ok: false, status: 408, error: 'request body not received within 0.2 s' });
    assert.ok(took >= 190 && took < 2000, `answered after ${took} ms`);
    assert.equal(cancelled, true);
    assert.equal(budget.held, 0);
  });

  it('a body that arrives in time is not affected by the deadline', async () => {
    const result = await readMessageBody(post('on time'), MiB, undefined, { timeoutMs: 5000 });
    assert.deepEqual(result, { ok: true, data: 'on time' });
  });
});
