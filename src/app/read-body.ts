/**
 * Reads a POST body with the size limit enforced while reading (a lying or missing
 * Content-Length cannot make the broker buffer more than `maxMessageSize`), and decides text or
 * binary as PROTOCOL.md says.
 *
 * Bounded whatever the client does:
 * - memory: one growing buffer (body-buffer.ts), at most twice the bytes received, so the
 *   chunking of the body does not matter;
 * - the broker's byte budget: the buffer's bytes are reserved while the body is read and given
 *   back when `readMessageBody` returns. From then on the message is either handed to receivers
 *   at once (pub, bus: their own backlog limits apply) or queued, and a push queue reserves its
 *   own bytes. A refused reservation is a 503.
 * - time: a body not complete within `timeoutMs` of the start of reading is a 408 (a client
 *   trickling its body, or holding back its last byte, does not hold the request open).
 */
import type { MessageData } from '../message.ts';
import { UNLIMITED_BUDGET, type ByteBudget } from '../core/byte-budget.ts';
import { BodyBuffer } from './body-buffer.ts';

export type BodyRefusal = { ok: false; status: 400 | 408 | 413 | 503; error: string };
export type BodyResult = { ok: true; data: MessageData } | BodyRefusal;

export interface BodyLimits {
  /** Milliseconds the whole body may take to arrive; unset: no deadline. */
  timeoutMs?: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes past the limit that are read and thrown away before answering 413. A client that is
 * still sending when the server answers and closes sees a broken pipe instead of the 413; reading
 * (not keeping) a bounded remainder lets an ordinary client get its answer. Past this the read
 * stops and the caller closes the connection.
 */
export const DRAIN_ALLOWANCE_BYTES = 1024 * 1024;

/**
 * The 413 for a body whose declared Content-Length is past the limit and the drain allowance:
 * known from the head alone, before any byte (or any place among the POSTs in flight) is taken.
 */
export function refuseDeclaredLength(request: Request, maxBytes: number): BodyRefusal | undefined {
  const declared = declaredLength(request);
  return declared !== undefined && declared > maxBytes + DRAIN_ALLOWANCE_BYTES ? tooLarge(maxBytes) : undefined;
}

export async function readMessageBody(request: Request, maxBytes: number, budget: ByteBudget = UNLIMITED_BUDGET, limits: BodyLimits = {}): Promise<BodyResult> {
  const refused = refuseDeclaredLength(request, maxBytes);
  if (refused) return refused;
  const declared = declaredLength(request);
  const buffer = new BodyBuffer(maxBytes, declared !== undefined && declared <= maxBytes ? declared : undefined, budget);
  try {
    const outcome = await readInto(request.body, buffer, maxBytes, limits.timeoutMs);
    if (outcome === 'too large') return tooLarge(maxBytes);
    if (outcome === 'failed') return { ok: false, status: 400, error: 'request body could not be read' };
    if (outcome === 'timeout') return { ok: false, status: 408, error: `request body not received within ${limits.timeoutMs! / 1000} s` };
    if (outcome === 'over budget') return { ok: false, status: 503, error: 'the broker is holding all the memory it may for clients; try again' };
    return { ok: true, data: decide(request, buffer.bytes()) };
  } finally {
    buffer.release();
  }
}

/** Text when the bytes are UTF-8 and not declared `application/octet-stream`, else binary. */
function decide(request: Request, bytes: Uint8Array): MessageData {
  const contentType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/octet-stream') {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      // Not UTF-8: delivered as binary.
    }
  }
  return bytes;
}

function declaredLength(request: Request): number | undefined {
  const declared = request.headers.get('content-length');
  if (declared === null) return undefined;
  const length = Number(declared);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

function tooLarge(maxBytes: number): BodyRefusal {
  return { ok: false, status: 413, error: `message is larger than maxMessageSize (${maxBytes} bytes)` };
}

type ReadOutcome = 'complete' | 'too large' | 'failed' | 'timeout' | 'over budget';

/** Reads the whole body into `buffer`, or says why not. */
async function readInto(body: ReadableStream<Uint8Array> | null, buffer: BodyBuffer, maxBytes: number, timeoutMs: number | undefined): Promise<ReadOutcome> {
  if (!body) return 'complete';
  const reader = body.getReader();
  let total = 0;
  let timedOut = false;
  // Cancelling ends the pending read (done), which the loop below tells apart by `timedOut`.
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    void reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return 'timeout';
      if (done) return total > maxBytes ? 'too large' : 'complete';
      total += value.byteLength;
      if (total > maxBytes) {
        // Over the limit: nothing more is kept; the rest is read only to let the client hear the 413.
        buffer.release();
        if (total > maxBytes + DRAIN_ALLOWANCE_BYTES) {
          await reader.cancel().catch(() => {});
          return 'too large';
        }
        continue;
      }
      if (!buffer.append(value)) {
        await reader.cancel().catch(() => {});
        return 'over budget';
      }
    }
  } catch {
    if (timedOut) return 'timeout';
    return total > maxBytes ? 'too large' : 'failed';
  } finally {
    clearTimeout(timer);
  }
}
