/**
 * Requests Node's HTTP parser refuses before the app ever sees them (garbage request lines,
 * headers past the size limit, a request that never finishes in time): answered as Node would
 * (400, 431, 408, 413), with one log line per refused client and no stack trace. A client that
 * simply went away is neither answered nor logged.
 *
 * A connection that has sent nothing is closed unanswered at the head timeout
 * (silent-connections.ts). The runtime's own head-timeout check now and then reports such a
 * connection here as ERR_HTTP_REQUEST_TIMEOUT, when it comes round a few milliseconds before the
 * broker's timer: about 1 connection in 200 on Deno 2.9, and seen once in 900 on Node 20 (whose
 * check otherwise leaves a silent connection open: 70 s and more without the broker's timer).
 * The client then got a 408 and the log a line. Closed unanswered here too, so the rule does not
 * depend on which timer is first (tests/silent-connections.test.ts).
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

const STATUS_BY_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * A client that went away: reset, or closed its side with a request half sent (the parser's
 * "invalid EOF state"). Neither answered nor logged: one load test logged 19,978 such lines.
 */
const GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'HPE_INVALID_EOF_STATE']);

export function answerClientErrors(server: Server, log: (line: string) => void): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const silent = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && (socket as { bytesRead?: number }).bytesRead === 0;
    if ((error.code && GONE.has(error.code)) || !socket.writable || silent) {
      socket.destroy();
      return;
    }
    const status = STATUS_BY_CODE[error.code ?? ''] ?? 400;
    log(`refused client: ${status} ${error.code ?? 'bad request'}${'reason' in error && typeof error.reason === 'string' ? ` (${error.reason})` : ''}`);
    // A response already under way on this keep-alive connection cannot be followed by another.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    // The same JSON body as every other refusal.
    const body = JSON.stringify({ error: `${STATUS_CODES[status]?.toLowerCase()} (${error.code ?? 'unparsable request'})` });
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}
