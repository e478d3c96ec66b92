/**
 * A PEM public key (`jwtPublicKey`) and the signature algorithms it may verify. The key's type
 * decides, never the token's header: an RSA key verifies RS256..PS512 only, so a token signed
 * with HS256 using the public key's text as the HMAC secret (the classic key-confusion attack)
 * is refused before any signature is computed. The type is found by asking Web Crypto to import
 * the key as each kind in turn; the key is then imported once per algorithm it is used with. The
 * signature itself is `hono/jwt`'s.
 */
import { importParams, type AsymmetricAlgorithm } from './algorithms.ts';

/** Each kind of key with the algorithms it verifies, the first one used to recognise it. */
const KINDS: ReadonlyArray<readonly AsymmetricAlgorithm[]> = [
  ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ['ES256'],
  ['ES384'],
  ['ES512'],
  ['EdDSA'],
];

const PEM_PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/;

/** Is this text PEM (rather than the name of a file holding it)? */
export function isPem(text: string): boolean {
  return text.includes('-----BEGIN ');
}

export interface PublicKey {
  readonly algorithms: readonly AsymmetricAlgorithm[];
  /** The key as Web Crypto holds it for `alg` (one of `algorithms`), imported once. */
  keyFor(alg: AsymmetricAlgorithm): Promise<CryptoKey>;
}

/** Reads `pem`; throws a one-line `Error` when it is not an SPKI public key of a kind JWTs use. */
export async function readPublicKey(pem: string): Promise<PublicKey> {
  const body = PEM_PUBLIC_KEY.exec(pem)?.[1];
  if (body === undefined) throw new Error('not a PEM public key (-----BEGIN PUBLIC KEY-----; convert an RSA PUBLIC KEY or a certificate with `openssl pkey -pubin` / `openssl x509 -pubkey`)');
  const der = Uint8Array.from(atob(body.replace(/\s/g, '')), (char) => char.charCodeAt(0));
  const keys = new Map<AsymmetricAlgorithm, Promise<CryptoKey>>();
  const keyFor = (alg: AsymmetricAlgorithm) => {
    let key = keys.get(alg);
    if (!key) keys.set(alg, (key = crypto.subtle.importKey('spki', der, importParams(alg), false, ['verify'])));
    return key;
  };
  for (const algorithms of KINDS) {
    try {
      await keyFor(algorithms[0]!);
      return { algorithms, keyFor };
    } catch {
      // Not this kind; try the next.
      keys.clear();
    }
  }
  throw new Error('a public key of no kind JWTs are signed with (RSA, EC P-256/P-384/P-521, Ed25519)');
}
