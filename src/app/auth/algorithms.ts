/**
 * The JWS algorithms, by family. A token's `alg` header picks the family, and the family picks
 * which configured key may verify it (verifier.ts); `none` and anything unlisted is refused.
 */
import type { SignatureAlgorithm } from 'hono/utils/jwt/jwa';

export type { SignatureAlgorithm };
export type SymmetricAlgorithm = Extract<SignatureAlgorithm, 'HS256' | 'HS384' | 'HS512'>;
export type AsymmetricAlgorithm = Exclude<SignatureAlgorithm, SymmetricAlgorithm>;

export const SYMMETRIC: readonly SymmetricAlgorithm[] = ['HS256', 'HS384', 'HS512'];
export const ASYMMETRIC: readonly AsymmetricAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function isSymmetric(alg: unknown): alg is SymmetricAlgorithm {
  return (SYMMETRIC as readonly unknown[]).includes(alg);
}

export function isAsymmetric(alg: unknown): alg is AsymmetricAlgorithm {
  return (ASYMMETRIC as readonly unknown[]).includes(alg);
}

/**
 * How Web Crypto imports a key for `alg` (RFC 7518 §3.1's names to Web Crypto's), so that a key
 * is imported once per algorithm and handed to `hono/jwt` as a `CryptoKey`, not parsed again
 * for every token.
 */
export function importParams(alg: SignatureAlgorithm): HmacImportParams | RsaHashedImportParams | EcKeyImportParams | Algorithm {
  const hash = `SHA-${alg.slice(2)}`;
  switch (alg.slice(0, 2)) {
    case 'HS':
      return { name: 'HMAC', hash };
    case 'RS':
      return { name: 'RSASSA-PKCS1-v1_5', hash };
    case 'PS':
      return { name: 'RSA-PSS', hash };
    case 'ES':
      return { name: 'ECDSA', namedCurve: alg === 'ES512' ? 'P-521' : `P-${alg.slice(2)}` };
    default:
      return { name: 'Ed25519' };
  }
}
