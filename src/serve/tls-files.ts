/**
 * The certificate and key files of every `https://…?cert=FILE&key=FILE` listen address, read
 * before anything listens: a file that is missing, unreadable or not PEM is one `OptionsError`
 * line (the CLI's exit 2), never a listener that fails on its first client.
 */
import { OptionsError } from '../options.ts';
import { splitListen } from './listen-address.ts';
import type { TlsMaterial } from './serve-runtime.ts';

export interface FileReader {
  readTextFile?(path: string): string | Promise<string>;
  /** Errors to pass on as they are (Deno: a permission its CLI explains). */
  isForeignError?(error: unknown): boolean;
}

/** The TLS material of each https address, by address. */
export async function readTlsFiles(addresses: readonly string[], reader: FileReader): Promise<Map<string, TlsMaterial>> {
  const material = new Map<string, TlsMaterial>();
  for (const address of addresses) {
    const files = splitListen(address).tlsFiles;
    if (!files) continue;
    const cert = await readOptionFile(reader, files.cert, `certificate file of ${address}`);
    const key = await readOptionFile(reader, files.key, `key file of ${address}`);
    if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new OptionsError(`certificate file ${files.cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new OptionsError(`key file ${files.key} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
    material.set(address, { cert, key });
  }
  return material;
}

/** Reads one file an option names; a failure is one line naming the file and the reason. */
export async function readOptionFile(reader: FileReader, path: string, what: string): Promise<string> {
  if (!reader.readTextFile) throw new OptionsError(`cannot read ${what} ${path}: this runtime reads no files`);
  try {
    return await reader.readTextFile(path);
  } catch (error) {
    if (reader.isForeignError?.(error)) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    throw new OptionsError(`cannot read ${what} ${path}: ${typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)}`);
  }
}
