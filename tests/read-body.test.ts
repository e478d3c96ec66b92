/**
 * `readMessageBody` (src/app/read-body.ts) on its own: the size limit holds while the body is read
 * whatever Content-Length says (or when there is none), a refused body is drained only up to
 * DRAIN_ALLOWANCE_BYTES, a body that breaks is a 400 (or still a 413 once past the limit), and text
 * or binary is decided as the README's Protocol says. Bodies are web `ReadableStream`s built here,
 * so each test knows exactly which chunks were asked for.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DRAIN_ALLOWANCE_BYTES, readMessageBody } from '../src/app/read-body.ts';

const LIMIT = 1000;
const encode = (text: string) => new TextEncoder().encode(text);

/** A body stream of `chunks`, recording how many were pulled and whether it was cancelled. */
function chunked(chunks: Uint8Array[], options: { failAfter?: number } = {}) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (options.failAfter !== undefined && seen.pulled === options.failAfter) {
        controller.error(new Error('connection reset'));
        return;
      }
      const chunk = chunks[seen.pulled];
      if (chunk === undefined) {
        controller.close();
        return;
      }
      seen.pulled++;
      controller.enqueue(chunk);
    },
    cancel() {
      seen.cancelled = true;
    },
    // No read-ahead: a chunk is pulled only when the reader asks for one.
  }, { highWaterMark: 0 });
  return { stream, seen };
}

/** `count` chunks of `size` bytes of "y". */
const chunksOf = (count: number, size: number) => Array.from({ length: count }, () => new Uint8Array(size).fill(0x79));

function post(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request('http://broker.test/pub/t', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

function tooLarge(result: Awaited<ReturnType<typeof readMessageBody>>): void {
  assert.deepEqual(result, { ok: false, status: 413, error: `message is larger than maxMessageSize (${LIMIT} bytes)` });
}

describe('readMessageBody: the size limit', () => {
  it('exactly maxBytes is accepted; one byte more is 413, counted in bytes, not characters', async () => {
    assert.deepEqual(await readMessageBody(post('x'.repeat(LIMIT)), LIMIT), { ok: true, data: 'x'.repeat(LIMIT) });
    tooLarge(await readMessageBody(post('x'.repeat(LIMIT + 1)), LIMIT));
    // 500 × "é" is 1000 bytes of UTF-8; 501 are 1002.
    assert.deepEqual(await readMessageBody(post('é'.repeat(500)), LIMIT), { ok: true, data: 'é'.repeat(500) });
    tooLarge(await readMessageBody(post('é'.repeat(501)), LIMIT));
  });

  it('a declared Content-Length past the limit and the drain allowance is 413 before any byte is read', async () => {
    const { stream, seen } = chunked(chunksOf(1, 10));
    const request = post(stream, { 'content-length': String(LIMIT + DRAIN_ALLOWANCE_BYTES + 1) });
    tooLarge(await readMessageBody(request, LIMIT));
    assert.equal(seen.pulled, 0, 'nothing was read');
  });

  it('a declared Content-Length that lies low does not get a larger body through', async () => {
    const { stream } = chunked(chunksOf(3, 400));
    tooLarge(await readMessageBody(post(stream, { 'content-length': '10' }), LIMIT));
  });

  it('a declared Content-Length within the allowance is read: the body decides', async () => {
    const { stream } = chunked(chunksOf(2, 300));
    const result = await readMessageBody(post(stream, { 'content-length': String(LIMIT + 10) }), LIMIT);
    assert.deepEqual(result, { ok: true, data: 'y'.repeat(600) });
  });

  it('without Content-Length (chunked), the limit holds across chunks', async () => {
    const exact = chunked(chunksOf(10, 100));
    assert.deepEqual(await readMessageBody(post(exact.stream), LIMIT), { ok: true, data: 'y'.repeat(LIMIT) });
    const over = chunked([...chunksOf(10, 100), new Uint8Array([0x79])]);
    tooLarge(await readMessageBody(post(over.stream), LIMIT));
  });

  it('past the limit a body is read to its end while within the allowance (so the client hears the 413)', async () => {
    const chunks = chunksOf(20, 100); // 2000 bytes: over the limit, well within the allowance
    const { stream, seen } = chunked(chunks);
    tooLarge(await readMessageBody(post(stream), LIMIT));
    assert.equal(seen.pulled, chunks.length, 'every chunk was read');
    assert.equal(seen.cancelled, false);
  });

  it('past the limit and the allowance, reading stops and the stream is cancelled', async () => {
    // Far more than limit + allowance: a reader that kept going would pull every chunk.
    const chunks = chunksOf(64, 64 * 1024);
    const { stream, seen } = chunked(chunks);
    tooLarge(await readMessageBody(post(stream), LIMIT));
    assert.ok(seen.pulled < chunks.length, `stopped after ${seen.pulled} of ${chunks.length} chunks`);
    assert.ok(seen.pulled * 64 * 1024 <= LIMIT + DRAIN_ALLOWANCE_BYTES + 64 * 1024, 'read at most one chunk past the allowance');
    assert.equal(seen.cancelled, true);
  });
});

describe('readMessageBody: a body that breaks', () => {
  it('an error within the limit is 400: the body could not be read', async () => {
    const { stream } = chunked(chunksOf(5, 100), { failAfter: 2 });
    assert.deepEqual(await readMessageBody(post(stream), LIMIT), { ok: false, status: 400, error: 'request body could not be read' });
  });

  it('an error once past the limit is still 413 (the client sent too much either way)', async () => {
    const { stream } = chunked(chunksOf(15, 100), { failAfter: 12 });
    tooLarge(await readMessageBody(post(stream), LIMIT));
  });

  it('an error on the first read is 400', async () => {
    const { stream } = chunked([], { failAfter: 0 });
    assert.deepEqual(await readMessageBody(post(stream), LIMIT), { ok: false, status: 400, error: 'request body could not be read' });
  });
});

describe('readMessageBody: text or binary', () => {
  it('no body is an empty text message; an empty octet-stream body is empty binary', async () => {
    assert.deepEqual(await readMessageBody(post(null), LIMIT), { ok: true, data: '' });
    assert.deepEqual(await readMessageBody(post(''), LIMIT), { ok: true, data: '' });
    const binary = await readMessageBody(post(null, { 'content-type': 'application/octet-stream' }), LIMIT);
    assert.ok(binary.ok && binary.data instanceof Uint8Array && binary.data.byteLength === 0, JSON.stringify(binary));
  });

  it('valid UTF-8 is text whatever the content type, except application/octet-stream', async () => {
    for (const type of [undefined, 'text/plain', 'text/plain; charset=latin1', 'application/json', 'image/png']) {
      const result = await readMessageBody(post('héllo ✓', type ? { 'content-type': type } : {}), LIMIT);
      assert.deepEqual(result, { ok: true, data: 'héllo ✓' }, String(type));
    }
  });

  it('application/octet-stream is binary, matched case-insensitively and without its parameters', async () => {
    for (const type of ['application/octet-stream', 'Application/Octet-Stream', ' application/octet-stream ; foo=bar']) {
      const result = await readMessageBody(post('hi', { 'content-type': type }), LIMIT);
      assert.ok(result.ok && result.data instanceof Uint8Array, `${type}: ${JSON.stringify(result)}`);
      assert.deepEqual([...(result.data as Uint8Array)], [0x68, 0x69], type);
    }
  });

  it('invalid UTF-8 is binary, byte for byte, even when declared as text', async () => {
    for (const bytes of [[0x61, 0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const result = await readMessageBody(post(new Uint8Array(bytes), { 'content-type': 'text/plain; charset=utf-8' }), LIMIT);
      assert.ok(result.ok && result.data instanceof Uint8Array, `${bytes}: ${JSON.stringify(result)}`);
      assert.deepEqual([...(result.data as Uint8Array)], bytes);
    }
  });

  it('a character split across chunks is put together before decoding', async () => {
    const bytes = encode('a✓b');
    const { stream } = chunked([bytes.subarray(0, 2), bytes.subarray(2, 3), bytes.subarray(3)]);
    assert.deepEqual(await readMessageBody(post(stream), LIMIT), { ok: true, data: 'a✓b' });
  });

  it('chunks come out whole and in order, as binary too', async () => {
    const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array([]), new Uint8Array([4]), new Uint8Array([5, 6])];
    const { stream } = chunked(chunks);
    const result = await readMessageBody(post(stream, { 'content-type': 'application/octet-stream' }), LIMIT);
    assert.ok(result.ok && result.data instanceof Uint8Array);
    assert.deepEqual([...(result.data as Uint8Array)], [1, 2, 3, 4, 5, 6]);
  });

  it('a byte order mark is kept in the text, not swallowed', async () => {
    assert.deepEqual(await readMessageBody(post(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])), LIMIT), { ok: true, data: '\ufeffhi' });
  });
});
