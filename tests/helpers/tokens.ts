/**
 * Real signed tokens for the auth tests: keys made on the fly with `node:crypto` (RSA, EC P-256,
 * Ed25519), written as PEM files and JWK Sets where a broker reads them, and tokens signed with
 * `hono/jwt`'s `sign`. Also the tokens an attacker would send: `alg: none`, an HS256 token keyed
 * with a public key's PEM text, a token whose signature belongs to another key.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from 'hono/jwt';

/** An HMAC secret long enough for the broker (32 characters or more). */
export const SECRET = 'a test secret of forty characters, about';
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'broker-hono-tests';

export type Grants = Partial<Record<'sub' | 'pub' | 'bus' | 'push' | 'pull', string[]>> & { admin?: boolean };

export interface KeyPair {
  /** `BEGIN PUBLIC KEY` (SPKI). */
  readonly publicPem: string;
  /** `BEGIN PRIVATE KEY` (PKCS#8). */
  readonly privatePem: string;
  readonly publicJwk: JsonWebKey;
  readonly privateJwk: JsonWebKey;
}

function pair(keys: { publicKey: KeyObject; privateKey: KeyObject }): KeyPair {
  return {
    publicPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicJwk: keys.publicKey.export({ format: 'jwk' }),
    privateJwk: keys.privateKey.export({ format: 'jwk' }),
  };
}

export const rsaKeys = (): KeyPair => pair(generateKeyPairSync('rsa', { modulusLength: 2048 }));
export const ecKeys = (): KeyPair => pair(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
export const edKeys = (): KeyPair => pair(generateKeyPairSync('ed25519'));

/** Seconds since the epoch, as `exp` and `nbf` count. */
export const now = (): number => Math.floor(Date.now() / 1000);

/** Standard claims a broker with `--jwt-issuer ISSUER --jwt-audience AUDIENCE` accepts, valid for a minute. */
export function claims(grants: Grants, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, exp: now() + 60, broker: grants, ...extra };
}

export function hs256(payload: Record<string, unknown>, secret = SECRET, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256'): Promise<string> {
  return sign(payload, secret, alg);
}

/** Signed with a private key in PEM (no `kid`). */
export function signPem(payload: Record<string, unknown>, keys: KeyPair, alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA'): Promise<string> {
  return sign(payload, keys.privatePem, alg);
}

/** Signed with a private JWK, its `kid` in the header (for a JWKS). */
export function signKid(payload: Record<string, unknown>, keys: KeyPair, alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<string> {
  return sign(payload, { ...keys.privateJwk, alg, kid }, alg);
}

/** The public half as a JWK Set entry. */
export function jwk(keys: KeyPair, alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): JsonWebKey & { kid: string; alg: string } {
  return { ...keys.publicJwk, alg, kid, use: 'sig' } as JsonWebKey & { kid: string; alg: string };
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** `alg: none` and no signature: what a broker must never accept. */
export function unsignedToken(payload: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}.`;
}

/** The key-confusion attack: HS256 keyed with the broker's public key (PEM text) as the secret. */
export function keyConfusionToken(payload: Record<string, unknown>, publicPem: string): Promise<string> {
  return sign(payload, publicPem, 'HS256');
}

/** A directory for key files, removed by `cleanup`. */
export function keyDirectory(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'broker-auth-'));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `Authorization: Bearer TOKEN`. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
