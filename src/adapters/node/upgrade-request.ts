/**
 * The `Request` an upgrade is routed with, made cheap. Every WebSocket handshake goes through
 * the Hono app (routing, origin, topic and capacity checks), which reads the method, the URL and
 * a few headers. A real fetch `Request` costs a `Headers` copy with validation of every header,
 * a URL parse and an `AbortSignal` per connection, which is most of the handshake's JavaScript
 * time when thousands of clients connect at once. This object answers `method`, `url` and
 * `headers.get()` straight from Node's already parsed request, and builds the real `Request`
 * only if something asks for anything else (`signal`, `clone()`, ...).
 */
import type { IncomingMessage } from 'node:http';
import { isParsableHost } from '../../app/parsable-url.ts';

/** The read side of `Headers` over Node's parsed headers (lower-case names, repeats joined). */
class IncomingHeaders {
  constructor(private readonly incoming: IncomingMessage) {}

  get(name: string): string | null {
    const value = this.incoming.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.incoming.headers[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    return [];
  }

  forEach(callback: (value: string, name: string, headers: IncomingHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    const names = Object.keys(this.incoming.headers).sort();
    for (const name of names) yield [name, this.get(name)!];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

class UpgradeRequest {
  #headers: IncomingHeaders | undefined;
  #real: Request | undefined;

  constructor(
    readonly url: string,
    private readonly incoming: IncomingMessage,
    /** GET for a WebSocket handshake, whatever the client sent (the handshake check refuses others). */
    readonly method: string,
  ) {}

  get headers(): Headers {
    return (this.#headers ??= new IncomingHeaders(this.incoming)) as unknown as Headers;
  }

  /** The full fetch `Request`, for anything beyond method, URL and headers. */
  real(): Request {
    if (this.#real) return this.#real;
    const headers = new Headers();
    const raw = this.incoming.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      try {
        headers.append(raw[i]!, raw[i + 1]!);
      } catch {
        // A header the fetch API will not hold (odd bytes) is not one the broker reads.
      }
    }
    return (this.#real = new Request(this.url, { method: this.method, headers }));
  }
}

// Whatever else a Request has comes from the real one, made on first use.
for (const key of Object.getOwnPropertyNames(Request.prototype)) {
  if (key === 'constructor' || key in UpgradeRequest.prototype || key === 'method' || key === 'url') continue;
  Object.defineProperty(UpgradeRequest.prototype, key, {
    get(this: UpgradeRequest) {
      const real = this.real();
      const value = (real as unknown as Record<string, unknown>)[key];
      return typeof value === 'function' ? value.bind(real) : value;
    },
  });
}

/**
 * The request Hono routes an upgrade with, or undefined when its Host header is not a valid
 * `host[:port]` (RFC 9112 §3.2: answered 400, as node-server answers such a plain request).
 * `host` is used only when it is a plain host name (the header is the client's to choose); the
 * path must start with `/`. Dot segments stay as sent: the broker app resolves them, as it does
 * for Deno's requests (src/app/dot-segments.ts).
 */
export function upgradeRequest(incoming: IncomingMessage): Request | undefined {
  const hostHeader = incoming.headers.host;
  if (hostHeader && !isParsableHost(hostHeader)) return undefined;
  const host = hostHeader && /^[A-Za-z0-9.\-:[\]]+$/.test(hostHeader) ? hostHeader : 'localhost';
  const path = incoming.url?.startsWith('/') ? incoming.url : '/';
  const method = incoming.headers.upgrade?.toLowerCase() === 'websocket' ? 'GET' : (incoming.method ?? 'GET');
  // The scheme the client used, as `@hono/node-server` sets it for plain requests.
  const scheme = (incoming.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return new UpgradeRequest(`${scheme}://${host}${path}`, incoming, method) as unknown as Request;
}
