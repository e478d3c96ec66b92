/**
 * Reads a POST body with the size limit enforced while reading (a lying or missing
 * Content-Length cannot make the broker buffer more than `maxMessageSize`), and decides text or
 * binary as PROTOCOL.md says.
 */
import type { MessageData } from '../message.ts';

export type BodyResult = { ok: true; data: MessageData } | { ok: false; status: 413 | 400; error: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes past the limit that are read and thrown away before answering 413. A client that is
 * still sending when the server answers and closes sees a broken pipe instead of the 413; reading
 * (not keeping) a bounded remainder lets an ordinary client get its answer. Past this the read
 * stops and the caller closes the connection.
 */
export const DRAIN_ALLOWANCE_BYTES = 1024 * 1024;

export async function readMessageBody(request: Request, maxBytes: number): Promise<BodyResult> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes + DRAIN_ALLOWANCE_BYTES) return tooLarge(maxBytes);
  const bytes = await readLimited(request.body, maxBytes);
  if (bytes === undefined) return tooLarge(maxBytes);
  if (bytes === null) return { ok: false, status: 400, error: 'request body could not be read' };
  const contentType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/octet-stream') {
    try {
      return { ok: true, data: strictUtf8.decode(bytes) };
    } catch {
      // Not UTF-8: delivered as binary.
    }
  }
  return { ok: true, data: bytes };
}

function tooLarge(maxBytes: number): BodyResult {
  return { ok: false, status: 413, error: `message is larger than maxMessageSize (${maxBytes} bytes)` };
}

/** The body's bytes; undefined when over the limit; null when the stream failed. */
async function readLimited(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | undefined | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        if (total > maxBytes) return undefined;
        break;
      }
      total += value.byteLength;
      if (total > maxBytes) {
        chunks.length = 0;
        if (total > maxBytes + DRAIN_ALLOWANCE_BYTES) {
          await reader.cancel().catch(() => {});
          return undefined;
        }
        continue;
      }
      chunks.push(value);
    }
  } catch {
    return total > maxBytes ? undefined : null;
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
