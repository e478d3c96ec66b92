/**
 * Listen addresses as the serve lifecycle reads and prints them. `http://*:PORT` means every
 * interface; the printed form keeps `*` and puts IPv6 hosts in brackets, with the real port.
 * `https://HOST:PORT?cert=FILE&key=FILE` names the PEM files of a TLS listener; the printed form
 * drops the query.
 */

export interface ListenAddress {
  readonly scheme: 'http' | 'https';
  /** Undefined for `*`; IPv6 without brackets. */
  readonly host: string | undefined;
  readonly port: number;
  /** The certificate chain and private key files of an `https` address. */
  readonly tlsFiles?: { readonly cert: string; readonly key: string };
}

/** `http://HOST:PORT` or `https://HOST:PORT?cert=FILE&key=FILE` → its parts. */
export function splitListen(address: string): ListenAddress {
  const match = /^(https?):\/\/(.+?):(\d+)(?:\?(.*))?$/.exec(address);
  if (!match) throw new TypeError(`listen address ${JSON.stringify(address)} must look like http://HOST:PORT`);
  const scheme = match[1] as 'http' | 'https';
  const host = match[2]!;
  const query = new URLSearchParams(match[4] ?? '');
  const cert = query.get('cert');
  const key = query.get('key');
  return {
    scheme,
    host: host === '*' ? undefined : host.replace(/^\[|\]$/g, ''),
    port: Number(match[3]),
    ...(scheme === 'https' && cert && key ? { tlsFiles: { cert, key } } : {}),
  };
}

/** The printed URL for a bound address: `http://*:PORT` for every interface. */
export function listeningUrl(host: string | undefined, port: number, scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${host === undefined ? '*' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A URL a person can open for a printed address: `http://*:3000` (every interface) is not one, so
 * it gets `http://localhost:3000`; any other address is reachable as printed (undefined).
 */
export function reachableUrl(printed: string): string | undefined {
  const match = /^http:\/\/(\*|0\.0\.0\.0|\[::\]):(\d+)$/.exec(printed);
  return match ? `http://localhost:${match[2]}` : undefined;
}
