/**
 * The checks RFC 6455 §4.2.1 puts on a client's opening handshake, made before `ws` completes
 * it, so that each refusal carries the status and headers the RFC asks for and the same JSON
 * body as every other refusal. (`ws` makes the same checks, but with a `wsClientError` listener
 * it reports only an error message, from which neither the status nor the headers can be told.)
 *
 * HTTP version: at least 1.1, as RFC 6455 §4.1 requires (`ws` would also complete an HTTP/1.0
 * handshake; Bun and Deno do, as they do not show the HTTP version to JavaScript).
 *
 * Version: only 13, the version RFC 6455 defines (`ws` would also take draft version 8; Deno and
 * Bun do not, and no client has sent it for a decade). A refused version gets
 * `Sec-WebSocket-Version: 13`, which RFC 6455 §4.4 requires.
 */
import type { IncomingMessage } from 'node:http';

export interface HandshakeRefusal {
  status: 400 | 405;
  error: string;
  headers?: Record<string, string>;
}

/** A key is 16 random bytes in base64: 22 characters and `==`. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;

export const SUPPORTED_VERSION = '13';

export function handshakeRefusal(request: IncomingMessage): HandshakeRefusal | undefined {
  if (request.method !== 'GET') return { status: 405, error: 'a WebSocket handshake is a GET request', headers: { allow: 'GET' } };
  if (request.httpVersionMajor === 1 && request.httpVersionMinor === 0) return { status: 400, error: 'a WebSocket handshake needs HTTP/1.1' };
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return { status: 400, error: 'invalid Upgrade header' };
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return { status: 400, error: 'missing or invalid Sec-WebSocket-Key header' };
  if (request.headers['sec-websocket-version'] !== SUPPORTED_VERSION) {
    return { status: 400, error: `unsupported Sec-WebSocket-Version (this server speaks ${SUPPORTED_VERSION})`, headers: { 'sec-websocket-version': SUPPORTED_VERSION } };
  }
  return undefined;
}
