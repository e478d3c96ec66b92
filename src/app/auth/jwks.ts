/**
 * The JSON Web Key Set behind `jwks`: an `https://…` (or `http://`) URL, a JSON file, or (given to
 * `createBroker`) the JSON text itself. The keys are cached; they are loaded again when a token
 * names a `kid` the cache does not hold (the issuer rotated its keys), at most once per
 * `UNKNOWN_KID_COOLDOWN_MS` so that tokens with made-up `kid`s cannot make the broker fetch in a
 * loop, and after `MAX_AGE_MS` so that a key the issuer withdrew stops working. A failed load
 * keeps the keys already held.
 */
import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';

export const UNKNOWN_KID_COOLDOWN_MS = 1000;
export const MAX_AGE_MS = 10 * 60 * 1000;
const FETCH_TIMEOUT_MS = 5000;

export type JwksLoader = () => Promise<string>;

/** How to load `jwks`: a URL is fetched, JSON text is parsed, anything else is a file to read. */
export function jwksLoader(jwks: string, readTextFile: ((path: string) => string | Promise<string>) | undefined): JwksLoader {
  if (/^https?:\/\//i.test(jwks)) {
    return async () => {
      const response = await fetch(jwks, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`${jwks} answered ${response.status}`);
      return response.text();
    };
  }
  if (jwks.trimStart().startsWith('{')) return async () => jwks;
  if (!readTextFile) throw new TypeError('jwks: createBroker takes a URL or the JSON text; a file is read by the standalone server (or pass readTextFile)');
  return async () => readTextFile(jwks);
}

/** The keys of a JWK Set document; throws a one-line `Error` when it is not one. */
export function parseJwks(text: string): HonoJsonWebKey[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JWK Set (no "keys" array)');
  return keys.filter((key): key is HonoJsonWebKey => typeof key === 'object' && key !== null && !Array.isArray(key));
}

export class JwksCache {
  #keys: HonoJsonWebKey[] | undefined;
  #loadedAt = 0;
  #triedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly load: JwksLoader,
    private readonly log: (line: string) => void,
  ) {}

  /** Loads the set now; rejects when it cannot (the caller decides whether that is fatal). */
  async prime(): Promise<void> {
    this.#triedAt = Date.now();
    this.#keys = parseJwks(await this.load());
    this.#loadedAt = Date.now();
  }

  /** The keys to verify a token with key id `kid`, loaded again if the cache is stale or lacks it. */
  async keysFor(kid: string): Promise<HonoJsonWebKey[]> {
    const now = Date.now();
    const stale = this.#keys === undefined || now - this.#loadedAt > MAX_AGE_MS;
    const unknown = !this.#keys?.some((key) => key.kid === kid);
    // A load in flight may bring the key; otherwise load again unless one was just tried.
    if (this.#loading) await this.#loading;
    else if ((stale || unknown) && now - this.#triedAt >= UNKNOWN_KID_COOLDOWN_MS) await this.#refresh();
    return this.#keys ?? [];
  }

  #refresh(): Promise<void> {
    // Tokens arriving together share one load.
    this.#loading ??= this.prime()
      .catch((error: unknown) => this.log(`jwks: cannot load the key set: ${error instanceof Error ? error.message : String(error)}${this.#keys ? '; keeping the keys loaded before' : ''}`))
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }
}
