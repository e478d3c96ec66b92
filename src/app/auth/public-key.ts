/**
 * Which signature algorithms a PEM public key (`jwtPublicKey`) may verify. The key's type decides,
 * never the token's header: an RSA key verifies RS256..PS512 only, so a token signed with HS256 using
 * the public key's text as the HMAC secret (the classic key-confusion attack) is refused before
 * any signature is computed. The type is found by asking Web Crypto to import the key as each
 * kind in turn; the signature itself is `hono/jwt`'s.
 */
import type { AsymmetricAlgorithm } from './algorithms.ts';

interface KeyKind {
  readonly importAs: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  readonly algorithms: readonly AsymmetricAlgorithm[];
}

const KINDS: readonly KeyKind[] = [
  { importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] },
  { importAs: { name: 'ECDSA', namedCurve: 'P-256' }, algorithms: ['ES256'] },
  { importAs: { name: 'ECDSA', namedCurve: 'P-384' }, algorithms: ['ES384'] },
  { importAs: { name: 'ECDSA', namedCurve: 'P-521' }, algorithms: ['ES512'] },
  { importAs: { name: 'Ed25519' }, algorithms: ['EdDSA'] },
];

const PEM_PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/;

/** Is this text PEM (rather than the name of a file holding it)? */
export function isPem(text: string): boolean {
  return text.includes('-----BEGIN ');
}

/**
 * The algorithms `pem` verifies; throws a one-line `Error` when it is not an SPKI public key of a
 * kind JWTs use.
 */
export async function publicKeyAlgorithms(pem: string): Promise<readonly AsymmetricAlgorithm[]> {
  const body = PEM_PUBLIC_KEY.exec(pem)?.[1];
  if (body === undefined) throw new Error('not a PEM public key (-----BEGIN PUBLIC KEY-----; convert an RSA PUBLIC KEY or a certificate with `openssl pkey -pubin` / `openssl x509 -pubkey`)');
  const der = Uint8Array.from(atob(body.replace(/\s/g, '')), (char) => char.charCodeAt(0));
  for (const kind of KINDS) {
    try {
      await crypto.subtle.importKey('spki', der, kind.importAs, false, ['verify']);
      return kind.algorithms;
    } catch {
      // Not this kind; try the next.
    }
  }
  throw new Error('a public key of no kind JWTs are signed with (RSA, EC P-256/P-384/P-521, Ed25519)');
}
