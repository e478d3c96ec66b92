/**
 * An HTTP request whose path goes out exactly as written (`fetch` and WebSocket clients resolve
 * dot segments before sending), with any header, `Upgrade` included.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { RunningServer } from './server.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends `method path` to the broker (`path` relative to its base URL, mount prefix included). */
export function sendAsIs(server: RunningServer, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const base = new URL(server.httpUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: base.hostname, port: base.port, method, path: `${base.pathname.replace(/\/$/, '')}${path}`, headers: { connection: 'close', ...headers }, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
