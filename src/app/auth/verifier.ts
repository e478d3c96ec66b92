/**
 * Token verification with the keys the options name: `jwtSecret` for HS256/384/512,
 * `jwtPublicKey` for the algorithms its key type allows (public-key.ts), `jwks` for tokens with a
 * `kid`. The token's `alg` picks the key family and the configured keys decide what that family
 * may be; `hono/jwt` (on Web Crypto) decodes the token and checks signature, `exp`, `nbf`, `iss`
 * and `aud`. No token text ever reaches a log line or an answer: hono's error messages quote the
 * token, so refusals are named here from the error's type.
 */
import { decode, verify, verifyWithJwks } from 'hono/jwt';
import { OptionsError, type BrokerOptions } from '../../options.ts';
import { ASYMMETRIC, importParams, isAsymmetric, isSymmetric, type SymmetricAlgorithm } from './algorithms.ts';
import { grantsFromPayload, type Grants } from './grants.ts';
import { JwksCache, jwksLoader } from './jwks.ts';
import { isPem, readPublicKey, type PublicKey } from './public-key.ts';

/** What a valid token lets its holder do, and until when (ms since the epoch; none without `exp`). */
export interface Access {
  readonly grants: Grants;
  readonly expiresAt: number | undefined;
}

/** Why a token was refused, fit for a log line and the 401 body. */
export interface TokenRefusal {
  readonly refused: string;
}

/**
 * Tokens bigger than this are refused unread. A request carrying one plus ordinary headers stays
 * under Node's and Bun's 16 KB header limit, so every runtime gives a token of any size the same
 * answer up to that limit (README, "Security").
 */
export const MAX_TOKEN_BYTES = 12 * 1024;

export interface Authenticator {
  /**
   * Reads key files and checks the keys (and fetches a JWKS URL once); rejects with a one-line
   * `OptionsError` naming the option when a key file or key is unusable. Errors `passOn` matches (a
   * runtime's permission error) are rethrown as they are. A JWKS URL that does not answer yet is
   * logged, not fatal: the issuer may come up after the broker.
   */
  ready(passOn?: (error: unknown) => boolean): Promise<void>;
  verify(token: string): Promise<Access | TokenRefusal>;
}

export interface AuthenticatorInit {
  readTextFile?: (path: string) => string | Promise<string>;
  log: (line: string) => void;
}

/** The options that turn auth on. */
export function authEnabled(options: BrokerOptions): boolean {
  return options.jwtSecret !== undefined || options.jwtPublicKey !== undefined || options.jwks !== undefined;
}

/** The authenticator the options ask for, or undefined when auth is off. */
export function createAuthenticator(options: BrokerOptions, init: AuthenticatorInit): Authenticator | undefined {
  if (!authEnabled(options)) return undefined;
  return new TokenVerifier(options, init);
}

/** hono's error classes (by name) → the refusal's words. */
const REFUSAL_BY_ERROR: Readonly<Record<string, string>> = {
  JwtTokenExpired: 'token expired',
  JwtTokenNotBefore: 'token not valid yet (nbf)',
  JwtTokenIssuer: 'token from another issuer (iss)',
  JwtTokenAudience: 'token for another audience (aud)',
  JwtPayloadRequiresAud: 'token for another audience (aud)',
  JwtTokenSignatureMismatched: 'bad signature',
  JwtHeaderInvalid: 'bad token header (alg, typ or crit)',
  JwtTokenInvalid: 'malformed token',
  JwtAlgorithmMismatch: 'algorithm not accepted for this key',
  JwtHeaderRequiresKid: 'token without kid',
};

class TokenVerifier implements Authenticator {
  readonly #secret: string | undefined;
  readonly #jwks: JwksCache | undefined;
  readonly #verification: { iss?: string; aud?: string; iat: false };
  #publicKey: Promise<PublicKey> | undefined;
  /** The secret imported once per HS algorithm. */
  readonly #secretKeys = new Map<SymmetricAlgorithm, Promise<CryptoKey>>();
  #reportedUnusableKey = false;

  constructor(
    private readonly options: BrokerOptions,
    private readonly init: AuthenticatorInit,
  ) {
    if (options.jwtPublicKey !== undefined && !isPem(options.jwtPublicKey) && !init.readTextFile) {
      throw new TypeError('jwtPublicKey: createBroker takes the PEM text; a file is read by the standalone server (or pass readTextFile)');
    }
    this.#secret = options.jwtSecret;
    this.#jwks = options.jwks === undefined ? undefined : new JwksCache(jwksLoader(options.jwks, init.readTextFile), init.log);
    // `iat` is informational: checking it would refuse tokens from an issuer whose clock runs a
    // little ahead; validity is `exp` and `nbf`.
    this.#verification = { iat: false, ...(options.jwtIssuer ? { iss: options.jwtIssuer } : {}), ...(options.jwtAudience ? { aud: options.jwtAudience } : {}) };
  }

  async ready(passOn?: (error: unknown) => boolean): Promise<void> {
    const { jwtPublicKey, jwks } = this.options;
    if (jwtPublicKey !== undefined) {
      try {
        await this.#loadPublicKey();
      } catch (error) {
        this.#publicKey = undefined;
        if (passOn?.(error)) throw error;
        throw new OptionsError(`jwtPublicKey${isPem(jwtPublicKey) ? '' : ` ${jwtPublicKey}`}: ${describe(error)}`);
      }
    }
    if (jwks !== undefined && this.#jwks) {
      try {
        await this.#jwks.prime();
      } catch (error) {
        if (passOn?.(error)) throw error;
        if (!/^https?:\/\//i.test(jwks)) throw new OptionsError(`jwks${jwks.trimStart().startsWith('{') ? '' : ` ${jwks}`}: ${describe(error)}`);
        this.init.log(`jwks: cannot load ${jwks} yet (${describe(error)}); tokens with a kid are refused until it answers`);
      }
    }
  }

  async verify(token: string): Promise<Access | TokenRefusal> {
    if (token.length > MAX_TOKEN_BYTES) return { refused: `token larger than ${MAX_TOKEN_BYTES} bytes` };
    let header: { alg?: unknown; kid?: unknown };
    try {
      header = decode(token).header as { alg?: unknown; kid?: unknown };
    } catch {
      return { refused: 'malformed token' };
    }
    try {
      const verified = await this.#verifyWith(token, header);
      if ('refused' in verified) return verified;
      const payload = verified.payload;
      return { grants: grantsFromPayload(payload), expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      const refused = REFUSAL_BY_ERROR[name];
      if (refused) return { refused };
      // Not a verdict on the token (a key Web Crypto cannot use, say): worth one line, once.
      // hono's own errors may quote the token, so only the others are logged.
      if (!this.#reportedUnusableKey && !name.startsWith('Jwt')) {
        this.#reportedUnusableKey = true;
        this.init.log(`auth: a token could not be verified: ${describe(error)}`);
      }
      return { refused: 'token not verifiable with the configured keys' };
    }
  }

  /** The payload, once the key the token's algorithm calls for has verified it. */
  async #verifyWith(token: string, header: { alg?: unknown; kid?: unknown }): Promise<{ payload: Record<string, unknown> } | TokenRefusal> {
    const { alg, kid } = header;
    if (isSymmetric(alg)) {
      if (this.#secret === undefined) return { refused: `algorithm ${alg} not accepted (no jwtSecret)` };
      return { payload: await verify(token, await this.#secretKey(this.#secret, alg), { alg, ...this.#verification }) };
    }
    if (!isAsymmetric(alg)) return { refused: `algorithm ${JSON.stringify(alg ?? null)} not accepted` };
    if (this.#jwks && typeof kid === 'string') {
      const keys = await this.#jwks.keysFor(kid);
      if (!keys.some((key) => key.kid === kid)) return { refused: 'unknown key id (kid)' };
      return { payload: await verifyWithJwks(token, { keys, allowedAlgorithms: ASYMMETRIC, verification: this.#verification }) };
    }
    if (this.options.jwtPublicKey === undefined) return { refused: this.#jwks ? 'token without kid' : `algorithm ${alg} not accepted (no public key)` };
    const key = await this.#loadPublicKey();
    if (!key.algorithms.includes(alg)) return { refused: `algorithm ${alg} not accepted for this key` };
    return { payload: await verify(token, await key.keyFor(alg), { alg, ...this.#verification }) };
  }

  #secretKey(secret: string, alg: SymmetricAlgorithm): Promise<CryptoKey> {
    let key = this.#secretKeys.get(alg);
    if (!key) this.#secretKeys.set(alg, (key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), importParams(alg), false, ['verify'])));
    return key;
  }

  #loadPublicKey(): Promise<PublicKey> {
    this.#publicKey ??= (async () => {
      const configured = this.options.jwtPublicKey!;
      let pem = configured;
      if (!isPem(configured)) {
        if (!this.init.readTextFile) throw new Error('createBroker takes the PEM text; a file is read by the standalone server (or pass readTextFile)');
        pem = await this.init.readTextFile(configured);
      }
      return readPublicKey(pem);
    })();
    return this.#publicKey;
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
